import { and, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import type { MachineRow } from '../../db/entities/machines.ts';
import { keysetPage, keysetPageOf, type Page, type PageQuery } from '../../db/keyset.ts';
import { machineReadings } from '../../db/schema.ts';
import { conflict, notFound, validation } from '../../errors.ts';
import { MAX_FUTURE_MS } from '../../core/time.ts';
import type { ReadingInput } from '../readings/writer.ts';
import type { MachineView } from './schemas.ts';

export type MachineStatus = MachineRow['status'];
export type MachineSource = MachineRow['source'];

function getRow(ctx: Pick<AppContext, 'store'>, id: number): MachineRow {
  const row = ctx.store.data.machines.byId(id);
  if (!row) throw notFound('machine');
  return row;
}

export interface CreateMachineInput {
  name: string;
  machine_type: string;
  location?: string | null | undefined;
  status?: MachineStatus | undefined;
}

/** POST /machines (source http), and registration of configured devices (their protocol). */
export function createMachine(ctx: AppContext, tx: Tx, actor: Actor | undefined, input: CreateMachineInput, source: MachineSource = 'http'): MachineView {
  if (tx.machines.idByName(input.name) !== undefined) throw conflict('a machine with this name exists');
  const now = ctx.clock.now();
  const row = {
    id: ctx.store.ids.next('machines'),
    name: input.name,
    machineType: input.machine_type,
    location: input.location ?? null,
    status: input.status ?? 'offline',
    source,
    createdAt: now,
    updatedAt: now,
  };
  tx.machines.insert(row);
  // A new machine has no readings and has not been seen: the reply is what was inserted.
  tx.emit({
    kind: 'machine.created',
    entityType: 'machine',
    entityId: row.id,
    toStatus: row.status,
    actorUserId: actor?.userId ?? null,
    requestId: actor?.requestId ?? null,
    data: { name: row.name, source },
  });
  return tx.machines.views([{ ...row, lastSeenAt: null, legacyId: null }])[0] as MachineView;
}

/** Finds a configured device's machine by name, creating it on first start. */
export function ensureMachine(ctx: AppContext, input: CreateMachineInput, source: MachineSource): number {
  return ctx.store.data.machines.idByName(input.name) ?? ctx.store.commandNow((tx) => createMachine(ctx, tx, undefined, input, source)).id;
}

export function listMachines(ctx: AppContext, q: PageQuery): Page<MachineView> {
  const { machines } = ctx.store.data;
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPageOf(q, { width: 1, keyOf: (m) => [m.id], fetch: machines.page });
    return { items: machines.views(items), nextCursor };
  });
}

export function getMachine(ctx: AppContext, id: number): MachineView {
  return ctx.store.read(() => ctx.store.data.machines.views([getRow(ctx, id)])[0] as MachineView);
}

/** A driver's status change, as its own command at once (drivers call this from their callbacks). */
export function updateMachine(
  ctx: AppContext,
  actor: Actor | undefined,
  id: number,
  patch: { status?: MachineStatus | undefined; location?: string | null | undefined },
): MachineView {
  return ctx.store.commandNow((tx) => patchMachine(ctx, tx, actor, id, patch));
}

/** PATCH /machines/{id}: status and location; a status change is an event. */
export function patchMachine(
  ctx: AppContext,
  tx: Tx,
  actor: Actor | undefined,
  id: number,
  patch: { status?: MachineStatus | undefined; location?: string | null | undefined },
): MachineView {
  const row = getRow(ctx, id);
  const updated = tx.machines.update(id, {
    status: patch.status ?? row.status,
    location: patch.location === undefined ? row.location : patch.location,
    updatedAt: ctx.clock.now(),
  });
  if (!updated) throw notFound('machine');
  if (patch.status !== undefined && patch.status !== row.status) {
    tx.emit({
      kind: 'machine.status_changed',
      entityType: 'machine',
      entityId: id,
      fromStatus: row.status,
      toStatus: patch.status,
      actorUserId: actor?.userId ?? null,
      requestId: actor?.requestId ?? null,
    });
  }
  return tx.machines.views([updated])[0] as MachineView;
}

export type PostedReading = Omit<ReadingInput, 'machineId' | 'sourceTs' | 'reason'> & { sourceTs?: number | undefined };

/**
 * POST /machines/{id}/readings, in the caller's command (so the client's answer follows the
 * commit). A reading without a timestamp is taken now; one more than 5 minutes ahead is refused
 * (the whole batch, nothing stored).
 */
export function postReadings(ctx: AppContext, tx: Tx, machineId: number, readings: PostedReading[], batch: boolean): number {
  if (!tx.machines.exists(machineId)) throw notFound('machine');
  const now = ctx.clock.now();
  const rows = readings.map((r, i) => {
    if (r.sourceTs !== undefined && r.sourceTs > now + MAX_FUTURE_MS) {
      throw validation(batch ? `${i}.timestamp` : 'timestamp', 'may not be more than 5 minutes in the future');
    }
    return { ...r, machineId, reason: null, sourceTs: r.sourceTs ?? now };
  });
  return ctx.readings.write(tx, rows, 'http');
}

export interface ReadingFilter {
  limit: number;
  cursor?: string | undefined;
  reading_type?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

/** GET /machines/{id}/readings: newest first by source timestamp. */
export function listReadings(ctx: AppContext, machineId: number, f: ReadingFilter) {
  const conditions: Array<SQL | undefined> = [
    eq(machineReadings.machineId, machineId),
    f.reading_type ? eq(machineReadings.readingType, f.reading_type) : undefined,
    f.from !== undefined ? gte(machineReadings.sourceTs, f.from) : undefined,
    f.to !== undefined ? lte(machineReadings.sourceTs, f.to) : undefined,
  ];
  return ctx.store.read(() => {
    getRow(ctx, machineId);
    return keysetPage(f, {
      keys: [machineReadings.sourceTs, machineReadings.id],
      direction: 'desc',
      fetch: (after, limit) =>
        ctx.store.db
          .select()
          .from(machineReadings)
          .where(and(...conditions, after))
          .orderBy(desc(machineReadings.sourceTs), desc(machineReadings.id))
          .limit(limit)
          .all(),
      keyOf: (r) => [r.sourceTs, r.id],
    });
  });
}
