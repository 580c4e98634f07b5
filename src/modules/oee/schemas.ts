import { z } from '@hono/zod-openapi';
import { MACHINE_STATUSES } from '../../core/vocabulary.ts';
import { idNumber, idParams, idString, pageQuery, text, timestamp } from '../../http/schemas.ts';
import { MACHINE_STATES } from './states.ts';

const span = z.object({ from: z.string(), to: z.string(), ms: z.number().int() });
const ratio = z.number().nullable().openapi({ description: 'a fraction (0.85 = 85 %); null when its denominator is 0 or an input is missing' });

const figures = {
  from: z.string(),
  to: z.string(),
  measured_to: z.string().openapi({ description: 'to, or now when to is in the future: later time is not measured yet' }),
  planned_ms: z.number().int().openapi({ description: 'planned production time: shifts minus breaks, inside the range' }),
  run_ms: z.number().int().openapi({ description: 'planned time the machine was running' }),
  state_ms: z.record(z.enum(MACHINE_STATES), z.number().int()).openapi({ description: 'planned time per machine state' }),
  good: z.number().int(),
  scrap: z.number().int(),
  total: z.number().int(),
  ideal_ms: z.number().int().nullable().openapi({ description: 'Σ ideal cycle time × pieces; null when a piece has no ideal cycle time' }),
  availability: ratio,
  performance: ratio,
  quality: ratio,
  oee: ratio,
  losses: z.object({
    breakdown_ms: z.number().int(),
    setup_ms: z.number().int(),
    unassigned_ms: z.number().int(),
    short_stop_ms: z.number().int(),
    unknown_ms: z.number().int(),
    speed_loss_ms: z.number().int().nullable(),
    scrap_loss_ms: z.number().int().nullable(),
    by_reason: z.array(z.object({ reason_code: z.string().nullable(), ms: z.number().int() })),
  }),
  inputs: z.object({
    planned: z.array(span),
    states: z.array(span.extend({ state: z.enum(MACHINE_STATES) })),
    counts: z.array(
      z.object({
        source: z.enum(['stage', 'counter']),
        stage_id: z.number().int().nullable(),
        product_code: z.string().nullable(),
        good: z.number().int(),
        scrap: z.number().int(),
        ideal_cycle_s: z.number().nullable(),
      }),
    ),
    downtimes: z.array(span.extend({ id: z.number().int(), reason_code: z.string().nullable(), loss: z.enum(['breakdown', 'setup', 'unassigned']) })),
  }),
};

export const oeeFigures = z.object(figures).openapi('OeeFigures');
/** OEE figures of one machine over one span, with their inputs. */
export type OeeFiguresView = z.input<typeof oeeFigures>;

export const machineOee = z
  .object({
    machine_id: z.number().int(),
    machine_name: z.string(),
    ...figures,
    periods: z.array(z.object({ label: z.string(), ...figures })).openapi({ description: 'per shift or per plant-local day when by= is given' }),
  })
  .openapi('MachineOee');
export type MachineOeeView = z.input<typeof machineOee>;

export const shiftOee = z
  .object({ shift: z.string(), start: z.string(), end: z.string(), planned_ms: z.number().int(), machines: z.array(machineOee) })
  .openapi('ShiftOee');

export const workOrderOee = z
  .object({
    work_order_id: z.number().int(),
    stages: z.array(z.object({ stage_id: z.number().int(), stage_name: z.string(), machine_id: z.number().int(), machine_name: z.string(), ...figures })),
  })
  .openapi('WorkOrderOee');

/**
 * OEE ranges end before 9999-01-01: the plant calendar works day by day and a day near the end of
 * what ISO 8601 writes (9999-12-31) would name shifts in the year 10000. No factory asks that far.
 */
const OEE_TIME_LIMIT_MS = Date.UTC(9999, 0, 1);
const oeeTime = (tz: string) => timestamp(tz).refine((ms) => ms < OEE_TIME_LIMIT_MS, { message: 'must be before 9999-01-01T00:00:00Z' });

export const machineOeeQuery = (tz: string) =>
  z.object({
    from: oeeTime(tz),
    to: oeeTime(tz),
    by: z.enum(['shift', 'day'], { message: 'must be shift or day' }).optional(),
  });

export const shiftQuery = z.object({
  shift: z
    .string()
    .regex(/^(current|\d{4}-\d{2}-\d{2}\/[a-z0-9_-]{1,32})$/, { message: 'must be current or <plant-local date>/<shift name>, such as 2026-03-28/night' }),
});

export const downtime = z
  .object({
    id: z.number().int(),
    machine_id: z.number().int(),
    started_at: z.string(),
    ended_at: z.string().nullable().openapi({ description: 'null while the machine is still stopped' }),
    duration_ms: z.number().int().openapi({ description: 'to ended_at, or to now while it goes on' }),
    state: z.enum(MACHINE_STATUSES),
    reason_code: z.string().nullable(),
    reason_label: z.string().nullable().openapi({ description: 'Group / Reason, from the configured tree' }),
    note: z.string().nullable(),
    reason_by: z.number().int().nullable(),
    reason_at: z.string().nullable(),
    issue_id: z.number().int().nullable(),
  })
  .openapi('Downtime');
/** A downtime record as the API shows it. */
export type DowntimeView = z.input<typeof downtime>;

export const downtimeQuery = (tz: string) =>
  z.object({
    ...pageQuery,
    machine_id: idString.optional().openapi({ type: 'integer' }),
    from: timestamp(tz).optional(),
    to: timestamp(tz).optional(),
    unassigned: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  });

export const downtimeParams = idParams('downtime_id');

export const downtimeBody = z
  .object({ reason_code: z.string().max(32).nullable(), note: text(1, 500).nullable().optional() })
  .strict()
  .openapi('AssignDowntimeReason');

export const reasonTree = z
  .object({
    code: z.string(),
    label: z.string(),
    loss: z.enum(['breakdown', 'setup']),
    children: z.array(z.object({ code: z.string(), label: z.string() })),
  })
  .openapi('DowntimeReasonGroup');

export const stageMachineBody = z.object({ machine_id: idNumber.nullable() }).strict().openapi('StageMachine');
export const stageMachine = z.object({ stage_id: z.number().int(), machine_id: z.number().int().nullable() }).openapi('StageMachineLink');
