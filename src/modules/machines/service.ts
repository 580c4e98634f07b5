import { and, asc, desc, eq, gte, inArray, lte, type SQL, sql } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page, type PageQuery } from '../../db/keyset.ts';
import { machineLatest, machineReadings, machines } from '../../db/schema.ts';
import { conflict, notFound, validation } from '../../errors.ts';
import { MAX_FUTURE_MS } from '../../core/time.ts';
import type { Tx } from '../../db/command.ts';
import { iso } from '../../core/iso.ts';
import type { MachineView } from './schemas.ts';
import type { ReadingInput } from '../readings/writer.ts';

type MachineRow = typeof machines.$inferSelect;
export type MachineStatus = MachineRow['status'];
export type MachineSource = MachineRow['source'];

type Latest = MachineView['latest'];

const toView = (m: MachineRow, latest: Latest): MachineView => ({
  id: m.id,
  name: m.name,
  machine_type: m.machineType,
  location: m.location,
  status: m.status,
  source: m.source,
  last_seen_at: iso(m.lastSeenAt),
  latest,
});

function getRow(ctx: Pick<AppContext, 'store'>, id: number): MachineRow {
  const row = ctx.store.db.select().from(machines).where(eq(machines.id, id)).get();
  if (!row) throw notFound('machine');
  return row;
}

// machine_latest keeps no reason; a non-good latest value takes it from the reading it came from.
// Qualified by hand: drizzle writes a single-table select's columns bare, and inside the subquery a
// bare machine_id would be the reading's own (every reading matching, the newest of any machine won).
const reasonOf = sql<string | null>`CASE WHEN "machine_latest"."quality" = 'good' THEN NULL ELSE (
  SELECT r.reason FROM machine_readings r WHERE r.machine_id = "machine_latest"."machine_id"
    AND r.reading_type = "machine_latest"."reading_type" AND r.source_ts = "machine_latest"."source_ts"
  ORDER BY r.id DESC LIMIT 1) END`;

function latestOf(ctx: Pick<AppContext, 'store'>, ids: number[]): Map<number, Latest> {
  const map = new Map<number, Latest>();
  if (ids.length === 0) return map;
  const rows = ctx.store.db
    .select({
      machineId: machineLatest.machineId,
      readingType: machineLatest.readingType,
      value: machineLatest.value,
      unit: machineLatest.unit,
      quality: machineLatest.quality,
      sourceTs: machineLatest.sourceTs,
      reason: reasonOf,
    })
    .from(machineLatest)
    .where(inArray(machineLatest.machineId, ids))
    .all();
  for (const r of rows) {
    const entry = map.get(r.machineId) ?? {};
    entry[r.readingType] = { value: r.value, unit: r.unit, quality: r.quality, reason: r.reason, timestamp: iso(r.sourceTs) };
    map.set(r.machineId, entry);
  }
  return map;
}

export interface CreateMachineInput {
  name: string;
  machine_type: string;
  location?: string | null | undefined;
  status?: MachineStatus | undefined;
}

/** POST /machines (source http), and registration of configured devices (their protocol). */
export function createMachine(ctx: AppContext, tx: Tx, actor: Actor | undefined, input: CreateMachineInput, source: MachineSource = 'http'): MachineView {
  if (ctx.store.db.select({ id: machines.id }).from(machines).where(eq(machines.name, input.name)).get()) {
    throw conflict('a machine with this name exists');
  }
  const now = ctx.clock.now();
  const row = ctx.store.db
    .insert(machines)
    .values({
      id: ctx.store.ids.next('machines'),
      name: input.name,
      machineType: input.machine_type,
      location: input.location ?? null,
      status: input.status ?? 'offline',
      source,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .get();
  tx.emit({
    kind: 'machine.created',
    entityType: 'machine',
    entityId: row.id,
    toStatus: row.status,
    actorUserId: actor?.userId ?? null,
    requestId: actor?.requestId ?? null,
    data: { name: row.name, source },
  });
  return toView(row, {});
}

/** Finds a configured device's machine by name, creating it on first start. */
export function ensureMachine(ctx: AppContext, input: CreateMachineInput, source: MachineSource): number {
  const existing = ctx.store.db.select({ id: machines.id }).from(machines).where(eq(machines.name, input.name)).get();
  return existing ? existing.id : ctx.store.commandNow((tx) => createMachine(ctx, tx, undefined, input, source)).id;
}

export function listMachines(ctx: AppContext, q: PageQuery): Page<MachineView> {
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPage(q, {
      keys: [machines.id],
      direction: 'asc',
      fetch: (after, limit) => ctx.store.db.select().from(machines).where(after).orderBy(asc(machines.id)).limit(limit).all(),
      keyOf: (m) => [m.id],
    });
    const latest = latestOf(
      ctx,
      items.map((m) => m.id),
    );
    return { items: items.map((m) => toView(m, latest.get(m.id) ?? {})), nextCursor };
  });
}

export function getMachine(ctx: AppContext, id: number): MachineView {
  return ctx.store.read(() => toView(getRow(ctx, id), latestOf(ctx, [id]).get(id) ?? {}));
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
  const set: Partial<MachineRow> = { updatedAt: ctx.clock.now() };
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.location !== undefined) set.location = patch.location;
  const updated = ctx.store.db.update(machines).set(set).where(eq(machines.id, id)).returning().get();
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
  return toView(updated, latestOf(ctx, [id]).get(id) ?? {});
}

export type PostedReading = Omit<ReadingInput, 'machineId' | 'sourceTs' | 'reason'> & { sourceTs?: number | undefined };

/**
 * POST /machines/{id}/readings, in the caller's command (so the client's answer follows the
 * commit). A reading without a timestamp is taken now; one more than 5 minutes ahead is refused
 * (the whole batch, nothing stored).
 */
export function postReadings(ctx: AppContext, tx: Tx, machineId: number, readings: PostedReading[], batch: boolean): number {
  if (ctx.store.writes.machineExists.get(machineId) === undefined) throw notFound('machine');
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
