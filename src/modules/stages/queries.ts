import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import { type StageStatus, stageAssignments, workOrderStages } from '../../db/schema.ts';
import { forbidden, notFound } from '../../errors.ts';
import { iso } from '../../http/envelope.ts';
import type { StageView } from './schemas.ts';

export type StageRow = typeof workOrderStages.$inferSelect;

function assignedUsers(ctx: Pick<AppContext, 'store'>, stageIds: number[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  if (stageIds.length === 0) return map;
  const rows =
    stageIds.length === 1
      ? ctx.store
          .prepared('assignmentsOfStage', (db) =>
            db
              .select({ stageId: stageAssignments.stageId, userId: stageAssignments.userId })
              .from(stageAssignments)
              .where(eq(stageAssignments.stageId, sql.placeholder('stage')))
              .orderBy(asc(stageAssignments.userId))
              .prepare(),
          )
          .all({ stage: stageIds[0] })
      : ctx.store.db
          .select({ stageId: stageAssignments.stageId, userId: stageAssignments.userId })
          .from(stageAssignments)
          .where(inArray(stageAssignments.stageId, stageIds))
          .orderBy(asc(stageAssignments.userId))
          .all();
  for (const r of rows) {
    const list = map.get(r.stageId) ?? [];
    list.push(r.userId);
    map.set(r.stageId, list);
  }
  return map;
}

export function toStageViews(ctx: Pick<AppContext, 'store'>, rows: StageRow[]): StageView[] {
  const assigned = assignedUsers(
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

/** Stages of one work order by seq; a worker sees only the ones assigned to them. */
export function stagesOfWorkOrder(ctx: Pick<AppContext, 'store'>, workOrderId: number, actor?: Actor): StageView[] {
  const rows =
    actor?.role === 'worker'
      ? ctx.store.db
          .select()
          .from(workOrderStages)
          .where(and(eq(workOrderStages.workOrderId, workOrderId), onlyAssignedTo(actor.userId)))
          .orderBy(asc(workOrderStages.seq))
          .all()
      : ctx.store
          .prepared('stagesOfWorkOrder', (db) =>
            db
              .select()
              .from(workOrderStages)
              .where(eq(workOrderStages.workOrderId, sql.placeholder('wo')))
              .orderBy(asc(workOrderStages.seq))
              .prepare(),
          )
          .all({ wo: workOrderId });
  return toStageViews(ctx, rows);
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
