import { z } from 'zod';
import { MACHINE_STATUSES } from '../../src/core/vocabulary.ts';

// The keys every protocol's device and tag share. A protocol's schema spreads these and adds its
// own (address, node id, topic, ...); the generic checks in drivers/config.ts rely on them.

/** Names, reading types and status-map tags: 1–64 characters of A-Z a-z 0-9 _ . : - */
const ident = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 _ . : -' });
export const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const tagCommon = {
  name: ident,
  machine: z.string().min(1).max(64).optional(),
  reading_type: ident,
  /** What people read for the reading type (the console's "Fan speed"); absent: made from reading_type. */
  display_name: z.string().trim().min(1).max(64).optional(),
  unit: z.string().min(1).max(32).optional(),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  deadband: z.number().finite().min(0).default(0),
  poll_interval_ms: ms(10, 3_600_000).optional(),
};

const statusMap = z
  .object({ tag: ident, map: z.record(z.string(), z.enum(MACHINE_STATUSES)), default: z.enum(MACHINE_STATUSES).optional() })
  .strict()
  .optional();

export const deviceCommon = {
  name: ident,
  machine: z.string().min(1).max(64),
  timeout_ms: ms(50, 60_000).default(1000),
  poll_interval_ms: ms(10, 3_600_000).default(1000),
  reconnect: z
    .object({ initial_ms: ms(10, 60_000).default(500), max_ms: ms(100, 600_000).default(30_000) })
    .strict()
    .default({ initial_ms: 500, max_ms: 30_000 }),
  status: statusMap,
};

const tagBase = z.object(tagCommon);

/** A fixed tag as the gateway sees it: the values of one series of one machine. */
export type TagBase = z.output<typeof tagBase>;

/** What the gateway needs of any device, whatever its protocol. */
export interface DeviceBase {
  name: string;
  protocol: string;
  /** The machine its tags feed (a tag may name another); absent on push devices, whose messages name their machine. */
  machine?: string | undefined;
  /** How often its tags are read, unless a tag says otherwise; absent on push devices. */
  poll_interval_ms?: number;
  status?: z.output<typeof statusMap>;
  /** Fixed tags; none on push devices (MQTT ingest), where every message says its machine and reading type. */
  tags: readonly TagBase[];
}
