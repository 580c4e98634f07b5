import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import { workOrderStages } from '../../db/schema.ts';
import type { StageStatus } from '../../core/vocabulary.ts';
import { forbidden, notFound } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import type { StageView } from './schemas.ts';

export type StageRow = typeof workOrderStages.$inferSelect;

/** Assigned users by stage, for any number of stages: one prepared statement, the ids as a JSON array. */
function assignedUsers(ctx: Pick<AppContext, 'store'>, stageIds: number[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  if (stageIds.length === 0) return map;
  const statement = ctx.store.prepared('assignmentsOfStages', () =>
    ctx.store.sqlite.prepare<[string], { stage_id: number; user_id: number }>(
      'SELECT stage_id, user_id FROM stage_assignments WHERE stage_id IN (SELECT value FROM json_each(?)) ORDER BY user_id',
    ),
  );
  for (const r of statement.all(JSON.stringify(stageIds))) {
    const list = map.get(r.stage_id);
    if (list) list.push(r.user_id);
    else map.set(r.stage_id, [r.user_id]);
  }
  return map;
}

/** The machine each stage runs on (`stage_machines`, docs/oee.md), for any number of stages. */
function stageMachineIds(ctx: Pick<AppContext, 'store'>, stageIds: number[]): Map<number, number> {
  if (stageIds.length === 0) return new Map();
  const statement = ctx.store.prepared('machinesOfStages', () =>
    ctx.store.sqlite
      .prepare<[string], [number, number]>('SELECT stage_id, machine_id FROM stage_machines WHERE stage_id IN (SELECT value FROM json_each(?))')
      .raw(true),
  );
  return new Map(statement.all(JSON.stringify(stageIds)));
}

export function toStageViews(ctx: Pick<AppContext, 'store'>, rows: StageRow[]): StageView[] {
  const assigned = assignedUsers(
    ctx,
    rows.map((r) => r.id),
  );
  const machineOf = stageMachineIds(
    ctx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    id: r.id,
    work_order_id: r.workOrderId,
    seq: r.seq,
    stage_name: r.stageName,
    planned_start: iso(r.plannedStart),
    planned_end: iso(r.plannedEnd),
    actual_start: iso(r.actualStart),
    actual_end: iso(r.actualEnd),
    status: r.status,
    qty_good: r.qtyGood,
    qty_scrap: r.qtyScrap,
    assigned_user_ids: assigned.get(r.id) ?? [],
    machine_id: machineOf.get(r.id) ?? null,
  }));
}

export function getStageRow(ctx: Pick<AppContext, 'store'>, id: number): StageRow {
  const byId = ctx.store.prepared('stageById', (db) =>
    db
      .select()
      .from(workOrderStages)
      .where(eq(workOrderStages.id, sql.placeholder('id')))
      .prepare(),
  );
  const row = byId.get({ id });
  if (!row) throw notFound('stage');
  return row;
}

function isAssigned(ctx: Pick<AppContext, 'store'>, stageId: number, userId: number): boolean {
  return ctx.store.writes.isAssigned.get(stageId, userId) !== undefined;
}

/** Workers act only on stages assigned to them; every other allowed role acts on any stage. */
export function checkStageAccess(ctx: Pick<AppContext, 'store'>, stageId: number, actor: Actor): void {
  if (actor.role === 'worker' && !isAssigned(ctx, stageId, actor.userId)) {
    throw forbidden('this stage is not assigned to you');
  }
}

const onlyAssignedTo = (userId: number): SQL => sql`${workOrderStages.id} IN (SELECT stage_id FROM stage_assignments WHERE user_id = ${userId})`;

/** The columns of a StageView in its order (assigned_user_ids is added after); machine_id by its primary key. */
const STAGE_VIEW_COLUMNS =
  'id, work_order_id, seq, stage_name, planned_start, planned_end, actual_start, actual_end, status, qty_good, qty_scrap, (SELECT machine_id FROM stage_machines m WHERE m.stage_id = work_order_stages.id)';
type StageTuple = [
  number,
  number,
  number,
  string,
  number | null,
  number | null,
  number | null,
  number | null,
  StageStatus,
  number | null,
  number | null,
  number | null,
];

/** Stages of one work order by seq; a worker sees only the ones assigned to them. */
export function stagesOfWorkOrder(ctx: Pick<AppContext, 'store'>, workOrderId: number, actor?: Actor): StageView[] {
  if (actor?.role === 'worker') {
    const rows = ctx.store.db
      .select()
      .from(workOrderStages)
      .where(and(eq(workOrderStages.workOrderId, workOrderId), onlyAssignedTo(actor.userId)))
      .orderBy(asc(workOrderStages.seq))
      .all();
    return toStageViews(ctx, rows);
  }
  // The hot path (GET /workorders/{id}/stages): arrays from a prepared statement (better-sqlite3's
  // raw mode), one object literal per view; native row objects and drizzle's mapping cost more.
  const statement = ctx.store.prepared('stageViewsOfWorkOrder', () =>
    ctx.store.sqlite.prepare<[number], StageTuple>(`SELECT ${STAGE_VIEW_COLUMNS} FROM work_order_stages WHERE work_order_id = ? ORDER BY seq`).raw(true),
  );
  const rows = statement.all(workOrderId);
  const assigned = assignedUsers(
    ctx,
    rows.map((r) => r[0]),
  );
  return rows.map((r) => ({
    id: r[0],
    work_order_id: r[1],
    seq: r[2],
    stage_name: r[3],
    planned_start: iso(r[4]),
    planned_end: iso(r[5]),
    actual_start: iso(r[6]),
    actual_end: iso(r[7]),
    status: r[8],
    qty_good: r[9],
    qty_scrap: r[10],
    assigned_user_ids: assigned.get(r[0]) ?? [],
    machine_id: r[11],
  }));
}

export interface StageFilter {
  limit: number;
  cursor?: string | undefined;
  status?: StageStatus | undefined;
  work_order_id?: number | undefined;
  assigned_to?: 'me' | number | undefined;
}

/** GET /stages: ordered by planned start, then id; workers only ever see their own stages. */
export function listStages(ctx: AppContext, actor: Actor, f: StageFilter): Page<StageView> {
  const plannedKey = sql<number>`coalesce(${workOrderStages.plannedStart}, 0)`;
  const conditions: Array<SQL | undefined> = [];
  if (f.status) conditions.push(eq(workOrderStages.status, f.status));
  if (f.work_order_id !== undefined) conditions.push(eq(workOrderStages.workOrderId, f.work_order_id));
  const assignee = f.assigned_to === 'me' ? actor.userId : f.assigned_to;
  if (assignee !== undefined) conditions.push(onlyAssignedTo(assignee));
  if (actor.role === 'worker') conditions.push(onlyAssignedTo(actor.userId));
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPage(f, {
      keys: [plannedKey, workOrderStages.id],
      direction: 'asc',
      fetch: (after, limit) =>
        ctx.store.db
          .select()
          .from(workOrderStages)
          .where(and(...conditions, after))
          .orderBy(asc(plannedKey), asc(workOrderStages.id))
          .limit(limit)
          .all(),
      keyOf: (r) => [r.plannedStart ?? 0, r.id],
    });
    return { items: toStageViews(ctx, items), nextCursor };
  });
}
