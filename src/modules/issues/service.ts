import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page } from '../../db/keyset.ts';
import { events, issues, workOrderStages } from '../../db/schema.ts';
import type { IssueStatus } from '../../core/vocabulary.ts';
import { forbidden, invalidTransition, notFound } from '../../errors.ts';
import type { Tx } from '../../db/command.ts';
import type { IssueRow } from '../../db/statements.ts';
import { iso } from '../../core/iso.ts';
import type { IssueView } from './schemas.ts';
import { checkStageAccess } from '../stages/queries.ts';

export type IssueType = IssueRow['type'];

type IssueHistoryEntry = IssueView['history'][number];

/** Issue lifecycle: open → ack → resolved, open → resolved. */
const NEXT: Record<IssueStatus, IssueStatus[]> = { open: ['ack', 'resolved'], ack: ['resolved'], resolved: [] };

const MANAGERS = new Set(['manager', 'planner', 'admin']);

const noteOf = (data: unknown): string | null => {
  const note = (data as { note?: unknown } | null)?.note;
  return typeof note === 'string' ? note : null;
};

/** History is read from the immutable event rows, so it can never disagree with them. */
function histories(ctx: Pick<AppContext, 'store'>, ids: number[]): Map<number, IssueHistoryEntry[]> {
  const map = new Map<number, IssueHistoryEntry[]>();
  if (ids.length === 1) {
    const id = ids[0] as number;
    const rows = ctx.store.writes.issueHistory.all(id);
    map.set(
      id,
      rows.map((e) => ({ status: e.status as IssueStatus, at: iso(e.at), by: e.by, note: noteOf(e.data === null ? null : JSON.parse(e.data)) })),
    );
    return map;
  }
  if (ids.length === 0) return map;
  const rows = ctx.store.db
    .select()
    .from(events)
    .where(
      and(
        eq(events.entityType, 'issue'),
        sql`${events.entityId} IN (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})`,
      ),
    )
    .orderBy(asc(events.id))
    .all();
  for (const e of rows) {
    const list = map.get(e.entityId) ?? [];
    list.push({ status: e.toStatus as IssueStatus, at: iso(e.occurredAt), by: e.actorUserId, note: noteOf(e.data) });
    map.set(e.entityId, list);
  }
  return map;
}

function toViews(ctx: Pick<AppContext, 'store'>, rows: IssueRow[]): IssueView[] {
  const hist = histories(
    ctx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    id: r.id,
    work_order_stage_id: r.workOrderStageId,
    type: r.type,
    description: r.description,
    status: r.status,
    created_by: r.createdBy,
    created_at: iso(r.createdAt),
    acknowledged_at: iso(r.acknowledgedAt),
    acknowledged_by: r.acknowledgedBy,
    resolved_at: iso(r.resolvedAt),
    resolved_by: r.resolvedBy,
    history: hist.get(r.id) ?? [],
  }));
}

/** POST /stages/{id}/issue: a worker may report only on a stage assigned to them. */
export function reportIssue(ctx: AppContext, tx: Tx, actor: Actor, stageId: number, input: { type: IssueType; description: string }): IssueView {
  const stage = ctx.store.writes.stageById.get(stageId);
  if (!stage) throw notFound('stage');
  checkStageAccess(ctx, stageId, actor);
  const now = ctx.clock.now();
  const id = ctx.store.ids.next('issues');
  ctx.store.writes.insertIssue.run(id, stageId, input.type, input.description, actor.userId, now, now);
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
  const w = ctx.store.writes;
  const stage = w.stageById.get(stageId);
  if (!stage) throw notFound('stage');
  const row = w.issueOfStage.get(issueId, stageId);
  if (!row) throw notFound('issue');
  if (!NEXT[row.status].includes(input.status)) throw invalidTransition('issue', row.status, input.status);
  const now = ctx.clock.now();
  const ack = input.status === 'ack';
  const resolved = input.status === 'resolved';
  const updated = w.updateIssue.get(
    input.status,
    now,
    ack ? now : row.acknowledgedAt,
    ack ? actor.userId : row.acknowledgedBy,
    resolved ? now : row.resolvedAt,
    resolved ? actor.userId : row.resolvedBy,
    issueId,
  );
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
  return toViews(ctx, [updated])[0] as IssueView;
}

/** GET /issues/{id}: managers, planners, admins, and the user who reported it. */
export function getIssue(ctx: AppContext, actor: Actor, issueId: number): IssueView {
  return ctx.store.read(() => {
    const row = ctx.store.db.select().from(issues).where(eq(issues.id, issueId)).get();
    if (!row) throw notFound('issue');
    if (!MANAGERS.has(actor.role) && row.createdBy !== actor.userId) throw forbidden('only managers and the reporter may see this issue');
    return toViews(ctx, [row])[0] as IssueView;
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
  const conditions: Array<SQL | undefined> = [
    f.status ? eq(issues.status, f.status) : undefined,
    f.type ? eq(issues.type, f.type) : undefined,
    f.work_order_stage_id !== undefined ? eq(issues.workOrderStageId, f.work_order_stage_id) : undefined,
    f.work_order_id !== undefined
      ? sql`${issues.workOrderStageId} IN (SELECT ${workOrderStages.id} FROM ${workOrderStages} WHERE ${workOrderStages.workOrderId} = ${f.work_order_id})`
      : undefined,
  ];
  return ctx.store.read(() => {
    const { items, nextCursor } = keysetPage(f, {
      keys: [issues.createdAt, issues.id],
      direction: 'desc',
      fetch: (after, limit) =>
        ctx.store.db
          .select()
          .from(issues)
          .where(and(...conditions, after))
          .orderBy(desc(issues.createdAt), desc(issues.id))
          .limit(limit)
          .all(),
      keyOf: (r) => [r.createdAt, r.id],
    });
    return { items: toViews(ctx, items), nextCursor };
  });
}
