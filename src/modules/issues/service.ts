import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import type { IssueRow } from '../../db/entities/issues.ts';
import { keysetPageOf, type Page } from '../../db/keyset.ts';
import type { IssueStatus } from '../../core/vocabulary.ts';
import { forbidden, invalidTransition, notFound } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import type { IssueView } from './schemas.ts';
import { checkStageAccess } from '../stages/queries.ts';

export type IssueType = IssueRow['type'];

/** Issue lifecycle: open → ack → resolved, open → resolved. */
const NEXT: Record<IssueStatus, IssueStatus[]> = { open: ['ack', 'resolved'], ack: ['resolved'], resolved: [] };

const MANAGERS = new Set(['manager', 'planner', 'admin']);

/** POST /stages/{id}/issue: a worker may report only on a stage assigned to them. */
export function reportIssue(ctx: AppContext, tx: Tx, actor: Actor, stageId: number, input: { type: IssueType; description: string }): IssueView {
  const stage = tx.stages.byId(stageId);
  if (!stage) throw notFound('stage');
  checkStageAccess(ctx, stageId, actor);
  const now = ctx.clock.now();
  const id = ctx.store.ids.next('issues');
  const { type, description } = input;
  tx.issues.insert({ id, workOrderStageId: stageId, type, description, status: 'open', createdBy: actor.userId, createdAt: now, updatedAt: now });
  const opened = tx.emit({
    kind: 'issue.opened',
    entityType: 'issue',
    entityId: id,
    workOrderId: stage.workOrderId,
    toStatus: 'open',
    occurredAt: now,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { stage_id: stageId, type: input.type, description: input.description },
  });
  // A new issue's history is the one event row just written.
  return {
    id,
    work_order_stage_id: stageId,
    type: input.type,
    description: input.description,
    status: 'open',
    created_by: actor.userId,
    created_at: iso(now),
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: null,
    resolved_by: null,
    history: [{ status: 'open', at: iso(opened.occurredAt), by: opened.actorUserId, note: null }],
  };
}

/** PATCH /stages/{id}/issues/{issue_id}: an issue of another stage is 404. */
export function updateIssue(
  ctx: AppContext,
  tx: Tx,
  actor: Actor,
  stageId: number,
  issueId: number,
  input: { status: IssueStatus; note?: string | undefined },
): IssueView {
  const stage = tx.stages.byId(stageId);
  if (!stage) throw notFound('stage');
  const row = tx.issues.ofStage(issueId, stageId);
  if (!row) throw notFound('issue');
  if (!NEXT[row.status].includes(input.status)) throw invalidTransition('issue', row.status, input.status);
  const now = ctx.clock.now();
  const ack = input.status === 'ack';
  const resolved = input.status === 'resolved';
  const updated = tx.issues.update(issueId, {
    status: input.status,
    updatedAt: now,
    acknowledgedAt: ack ? now : row.acknowledgedAt,
    acknowledgedBy: ack ? actor.userId : row.acknowledgedBy,
    resolvedAt: resolved ? now : row.resolvedAt,
    resolvedBy: resolved ? actor.userId : row.resolvedBy,
  });
  if (!updated) throw notFound('issue');
  tx.emit({
    kind: ack ? 'issue.acknowledged' : 'issue.resolved',
    entityType: 'issue',
    entityId: issueId,
    workOrderId: stage.workOrderId,
    fromStatus: row.status,
    toStatus: input.status,
    occurredAt: now,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { stage_id: stageId, note: input.note ?? null },
  });
  return tx.issues.views([updated])[0] as IssueView;
}

/** GET /issues/{id}: managers, planners, admins, and the user who reported it. */
export function getIssue(ctx: AppContext, actor: Actor, issueId: number): IssueView {
  return ctx.store.read(() => {
    const row = ctx.store.data.issues.byId(issueId);
    if (!row) throw notFound('issue');
    if (!MANAGERS.has(actor.role) && row.createdBy !== actor.userId) throw forbidden('only managers and the reporter may see this issue');
    return ctx.store.data.issues.views([row])[0] as IssueView;
  });
}

export interface IssueFilter {
  limit: number;
  cursor?: string | undefined;
  status?: IssueStatus | undefined;
  type?: IssueType | undefined;
  work_order_stage_id?: number | undefined;
  work_order_id?: number | undefined;
}

/** GET /issues: newest first. */
export function listIssues(ctx: AppContext, f: IssueFilter): Page<IssueView> {
  const { issues } = ctx.store.data;
  const filter = { status: f.status, type: f.type, workOrderStageId: f.work_order_stage_id, workOrderId: f.work_order_id };
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPageOf(f, { width: 2, keyOf: issues.keyOf, fetch: (after, limit) => issues.page(filter, after, limit) });
    return { items: issues.views(items), nextCursor };
  });
}
