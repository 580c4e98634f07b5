import type { Actor, AppContext } from '../../context.ts';
import type { StageRow } from '../../db/entities/stages.ts';
import { keysetPageOf, type Page } from '../../db/keyset.ts';
import type { StageStatus } from '../../core/vocabulary.ts';
import { forbidden, notFound } from '../../errors.ts';
import type { StageView } from './schemas.ts';

/** The stage, or NOT_FOUND. */
export function getStageRow(ctx: Pick<AppContext, 'store'>, id: number): StageRow {
  const row = ctx.store.data.stages.byId(id);
  if (!row) throw notFound('stage');
  return row;
}

/** Workers act only on stages assigned to them; every other allowed role acts on any stage. */
export function checkStageAccess(ctx: Pick<AppContext, 'store'>, stageId: number, actor: Actor): void {
  if (actor.role === 'worker' && !ctx.store.data.assignments.isAssigned(stageId, actor.userId)) {
    throw forbidden('this stage is not assigned to you');
  }
}

/** Stages of one work order by seq; a worker sees only the ones assigned to them. */
export function stagesOfWorkOrder(ctx: Pick<AppContext, 'store'>, workOrderId: number, actor?: Actor): StageView[] {
  const { stages } = ctx.store.data;
  if (actor?.role === 'worker') return stages.views(stages.ofWorkOrder(workOrderId, actor.userId));
  return stages.viewsOfWorkOrder(workOrderId);
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
  const { stages } = ctx.store.data;
  const filter = {
    status: f.status,
    workOrderId: f.work_order_id,
    assignedTo: f.assigned_to === 'me' ? actor.userId : f.assigned_to,
    visibleTo: actor.role === 'worker' ? actor.userId : undefined,
  };
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPageOf(f, { width: 2, keyOf: stages.keyOf, fetch: (after, limit) => stages.page(filter, after, limit) });
    return { items: stages.views(items), nextCursor };
  });
}
