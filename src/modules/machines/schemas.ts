import { z } from '@hono/zod-openapi';
import { MACHINE_SOURCES, MACHINE_STATUSES, QUALITIES } from '../../core/vocabulary.ts';
import { idParams, pageQuery, text, timestamp } from '../../http/schemas.ts';

const latest = z.object({
  value: z.number().nullable().openapi({ description: 'null when the quality is bad and no value could be read' }),
  unit: z.string().nullable(),
  quality: z.enum(QUALITIES),
  reason: z.string().nullable().openapi({ description: 'why the value is not good; null when it is' }),
  timestamp: z.string(),
});

export const machine = z
  .object({
    id: z.number().int(),
    name: z.string(),
    machine_type: z.string(),
    location: z.string().nullable(),
    status: z.enum(MACHINE_STATUSES),
    source: z.enum(MACHINE_SOURCES),
    last_seen_at: z.string().nullable(),
    latest: z.record(z.string(), latest).openapi({ description: 'latest value per reading type' }),
  })
  .openapi('Machine');
/** A machine with its latest value per reading type, as the API shows it. */
export type MachineView = z.input<typeof machine>;

export const createBody = z
  .object({ name: text(1, 64), machine_type: text(1, 64), location: text(1, 128).nullable().optional(), status: z.enum(MACHINE_STATUSES).optional() })
  .openapi('CreateMachine');

export const patchBody = z
  .object({ status: z.enum(MACHINE_STATUSES).optional(), location: text(1, 128).nullable().optional() })
  .strict()
  .refine((v) => v.status !== undefined || v.location !== undefined, { message: 'send status and/or location' })
  .openapi('UpdateMachine');

export const readingType = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 _ . : -' });

export const readingBody = (tz: string) => {
  const one = z
    .object({
      reading_type: readingType,
      value: z.number({ message: 'must be a finite number' }).refine(Number.isFinite, { message: 'must be a finite number' }),
      unit: text(1, 32).optional(),
      timestamp: timestamp(tz).optional(),
      quality: z.enum(QUALITIES).optional(),
    })
    .openapi('Reading');
  return z.union([one, z.array(one).min(1, { message: 'must hold at least one reading' }).max(1000, { message: 'must hold at most 1000 readings' })]);
};

export const reading = z
  .object({
    id: z.number().int(),
    reading_type: z.string(),
    value: z.number().nullable().openapi({ description: 'null when the quality is bad and no value could be read' }),
    unit: z.string().nullable(),
    quality: z.enum(QUALITIES),
    reason: z.string().nullable().openapi({ description: 'why the value is not good; null when it is' }),
    timestamp: z.string(),
    recorded_at: z.string(),
  })
  .openapi('StoredReading');
/** A stored reading as the API shows it. */
export type ReadingView = z.input<typeof reading>;

export const accepted = z.object({ accepted: z.number().int() }).openapi('ReadingsAccepted');

export const readingsQuery = (tz: string) =>
  z.object({ ...pageQuery, reading_type: readingType.optional(), from: timestamp(tz).optional(), to: timestamp(tz).optional() });

export const machineParams = idParams('machine_id');
export const listQuery = z.object(pageQuery);
