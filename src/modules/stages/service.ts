import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import type { StageRow } from '../../db/entities/stages.ts';
import { type StageStatus, WORK_ORDER_STATUSES, type WorkOrderStatus } from '../../core/vocabulary.ts';
import { conflict, invalidTransition, notFound, validation } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { MAX_FUTURE_MS } from '../../core/time.ts';
import { checkStageAccess, getStageRow } from './queries.ts';
import type { AssignmentView, StageView } from './schemas.ts';

export type StageAction = 'start' | 'pause' | 'resume' | 'done';

/** The state machine: planned → in_progress → done, in_progress ⇄ paused; nothing else. */
export const TRANSITIONS: Record<StageAction, { from: StageStatus; to: StageStatus }> = {
  start: { from: 'planned', to: 'in_progress' },
  pause: { from: 'in_progress', to: 'paused' },
  resume: { from: 'paused', to: 'in_progress' },
  done: { from: 'in_progress', to: 'done' },
};

const EVENT_KIND: Record<StageAction, string> = {
  start: 'stage.started',
  pause: 'stage.paused',
  resume: 'stage.resumed',
  done: 'stage.done',
};

export interface ActionInput {
  at?: number | undefined;
  reason?: string | undefined;
  qty_good?: number | undefined;
  qty_scrap?: number | undefined;
}

function checkAt(ctx: AppContext, row: StageRow, at: number): void {
  if (at > ctx.clock.now() + MAX_FUTURE_MS) throw validation('at', 'may not be more than 5 minutes in the future');
  if (row.statusChangedAt !== null && at < row.statusChangedAt) {
    const what = row.statusChangedAt === row.actualStart ? 'actual_start' : 'the previous action';
    throw validation('at', `must not be before ${what} (${new Date(row.statusChangedAt).toISOString()})`);
  }
}

function changes(row: StageRow, action: StageAction, at: number, input: ActionInput): Partial<StageRow> {
  switch (action) {
    case 'start':
      return { actualStart: at };
    case 'pause':
      return { pausedSince: at };
    case 'resume':
      return { pausedSince: null, pausedMs: row.pausedMs + (at - (row.pausedSince ?? at)) };
    case 'done':
      return { actualEnd: at, qtyGood: input.qty_good ?? row.qtyGood, qtyScrap: input.qty_scrap ?? row.qtyScrap };
  }
}

/** A work order's status follows its stages: planned (none started), in_progress, done (all done). */
export function deriveStatus(stageStatuses: string[]): WorkOrderStatus {
  const started = stageStatuses.filter((s) => s !== 'planned').length;
  return statusFromCounts(stageStatuses.length, started, stageStatuses.filter((s) => s === 'done').length);
}

/** The same rule from counts: `stages` in all, `started` not planned, `done` done. */
function statusFromCounts(stages: number, started: number, done: number): WorkOrderStatus {
  if (stages > 0 && done === stages) return 'done';
  return started > 0 ? 'in_progress' : 'planned';
}

/**
 * Recomputes the work order's derived status (one query); records an event when it moves.
 * It only moves forward (planned → in_progress → done), the same rule as sync's merge: HQ
 * may close a work order while a stage still runs, and a later stage action here must not
 * reopen it, or the edge would show in_progress for good while HQ keeps done (docs/sync.md).
 */
function refreshWorkOrder(ctx: AppContext, tx: Tx, workOrderId: number, at: number, actor: Actor): void {
  const wo = tx.workOrders.progress(workOrderId);
  if (!wo) throw notFound('work order');
  const next = statusFromCounts(wo.stages, wo.started, wo.done);
  if (WORK_ORDER_STATUSES.indexOf(next) <= WORK_ORDER_STATUSES.indexOf(wo.status)) return;
  tx.workOrders.setStatus(workOrderId, next, ctx.clock.now());
  tx.emit({
    kind: 'work_order.status_changed',
    entityType: 'work_order',
    entityId: workOrderId,
    workOrderId,
    fromStatus: wo.status,
    toStatus: next,
    occurredAt: at,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
  });
}

/**
 * POST /stages/{id}/{action}. One IMMEDIATE transaction: two terminals pressing Start at once
 * serialise here, so exactly one sees `planned` and the other gets INVALID_TRANSITION.
 */
export function transitionStage(ctx: AppContext, tx: Tx, actor: Actor, stageId: number, action: StageAction, input: ActionInput): StageView {
  const { from, to } = TRANSITIONS[action];
  const row = tx.stages.byId(stageId);
  if (!row) throw notFound('stage');
  checkStageAccess(ctx, stageId, actor);
  if (row.status !== from) throw invalidTransition('stage', row.status, to);
  const now = ctx.clock.now();
  const at = input.at ?? now;
  checkAt(ctx, row, at);
  const c = { ...row, ...changes(row, action, at, input) };
  const updated = tx.stages.update(stageId, { ...c, status: to, statusChangedAt: at, updatedAt: now });
  if (!updated) throw notFound('stage');
  const data: Record<string, unknown> = { stage_name: row.stageName, seq: row.seq };
  if (input.reason !== undefined) data.reason = input.reason;
  if (action === 'done') Object.assign(data, { qty_good: updated.qtyGood, qty_scrap: updated.qtyScrap });
  tx.emit({
    kind: EVENT_KIND[action],
    entityType: 'stage',
    entityId: stageId,
    workOrderId: row.workOrderId,
    fromStatus: from,
    toStatus: to,
    occurredAt: at,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data,
  });
  refreshWorkOrder(ctx, tx, row.workOrderId, at, actor);
  return tx.stages.views([updated])[0] as StageView;
}

export function listAssignments(ctx: AppContext, stageId: number): AssignmentView[] {
  return ctx.store.read(() => {
    getStageRow(ctx, stageId);
    return ctx.store.data.assignments.viewsOfStage(stageId);
  });
}

/** POST /stages/{id}/assignments: unknown or non-human user → 422, duplicate → 409. */
export function assignUser(ctx: AppContext, tx: Tx, actor: Actor, stageId: number, userId: number): AssignmentView {
  const stage = getStageRow(ctx, stageId);
  const user = tx.users.byId(userId);
  if (!user) throw validation('user_id', 'no such user');
  if (user.role === 'machine') throw validation('user_id', 'device accounts cannot be assigned to stages');
  if (tx.assignments.isAssigned(stageId, userId)) throw conflict('the user is already assigned to this stage');
  const now = ctx.clock.now();
  tx.assignments.insert({ stageId, userId, assignedBy: actor.userId, assignedAt: now });
  tx.emit({
    kind: 'stage.assigned',
    entityType: 'stage',
    entityId: stageId,
    workOrderId: stage.workOrderId,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { user_id: userId },
  });
  return { stage_id: stageId, user_id: userId, username: user.username, assigned_at: iso(now), assigned_by: actor.userId };
}

/** DELETE /stages/{id}/assignments/{user_id}. */
export function unassignUser(ctx: AppContext, tx: Tx, actor: Actor, stageId: number, userId: number): void {
  const stage = getStageRow(ctx, stageId);
  if (!tx.assignments.remove(stageId, userId)) throw notFound('assignment');
  tx.emit({
    kind: 'stage.unassigned',
    entityType: 'stage',
    entityId: stageId,
    workOrderId: stage.workOrderId,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { user_id: userId },
  });
}
