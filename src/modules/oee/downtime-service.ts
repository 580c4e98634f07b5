import { and, desc, eq, gt, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import { keysetPage, type Page, type PageQuery } from '../../db/keyset.ts';
import { downtimes } from '../../db/schema.ts';
import { forbidden, notFound, validation } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import type { DowntimeView } from './schemas.ts';

type DowntimeRow = typeof downtimes.$inferSelect;

/** `Group / Reason` of a leaf code of the configured tree; undefined when the code is not a leaf. */
export function reasonLabel(ctx: AppContext, code: string): string | undefined {
  for (const g of ctx.config.settings.oee.reasons) {
    const leaf = g.children.find((c) => c.code === code);
    if (leaf) return `${g.label} / ${leaf.label}`;
  }
  return undefined;
}

function toView(ctx: AppContext, r: DowntimeRow): DowntimeView {
  return {
    id: r.id,
    machine_id: r.machineId,
    started_at: iso(r.startedAt) as string,
    ended_at: iso(r.endedAt),
    duration_ms: (r.endedAt ?? Math.max(ctx.clock.now(), r.startedAt)) - r.startedAt,
    state: r.state,
    // A code no longer in the tree (the config changed) is still shown, without a label.
    reason_code: r.reasonCode,
    reason_label: r.reasonCode === null ? null : (reasonLabel(ctx, r.reasonCode) ?? null),
    note: r.note,
    reason_by: r.reasonBy,
    reason_at: iso(r.reasonAt),
    issue_id: r.issueId,
  };
}

export interface DowntimeFilter extends PageQuery {
  machine_id?: number | undefined;
  from?: number | undefined;
  to?: number | undefined;
  unassigned?: 'true' | 'false' | undefined;
}

/** GET /downtimes: newest first; from/to select records overlapping the range. */
export function listDowntimes(ctx: AppContext, f: DowntimeFilter): Page<DowntimeView> {
  const conditions: Array<SQL | undefined> = [
    f.machine_id !== undefined ? eq(downtimes.machineId, f.machine_id) : undefined,
    f.to !== undefined ? lt(downtimes.startedAt, f.to) : undefined,
    f.from !== undefined ? or(isNull(downtimes.endedAt), gt(downtimes.endedAt, f.from)) : undefined,
    f.unassigned === 'true' ? isNull(downtimes.reasonCode) : undefined,
  ];
  return ctx.store.read(() => {
    const page = keysetPage(f, {
      keys: [downtimes.startedAt, downtimes.id],
      direction: 'desc',
      fetch: (after, limit) =>
        ctx.store.db
          .select()
          .from(downtimes)
          .where(and(...conditions, after))
          .orderBy(desc(downtimes.startedAt), desc(downtimes.id))
          .limit(limit)
          .all(),
      keyOf: (r) => [r.startedAt, r.id],
    });
    return { items: page.items.map((r) => toView(ctx, r)), nextCursor: page.nextCursor };
  });
}

function row(ctx: AppContext, id: number): DowntimeRow {
  const r = ctx.store.db.select().from(downtimes).where(eq(downtimes.id, id)).get();
  if (!r) throw notFound('downtime');
  return r;
}

export function getDowntime(ctx: AppContext, id: number): DowntimeView {
  return ctx.store.read(() => toView(ctx, row(ctx, id)));
}

/** A worker may give a reason only for a machine one of their stages ran on while it was stopped. */
function checkWorkerMachine(ctx: AppContext, actor: Actor, d: DowntimeRow): void {
  if (actor.role !== 'worker') return;
  const ran = ctx.store.sqlite
    .prepare(
      `SELECT 1 FROM stage_machines m JOIN work_order_stages s ON s.id = m.stage_id JOIN stage_assignments a ON a.stage_id = s.id
       WHERE m.machine_id = ? AND a.user_id = ? AND s.actual_start IS NOT NULL AND s.actual_start <= ? AND (s.actual_end IS NULL OR s.actual_end >= ?) LIMIT 1`,
    )
    .get(d.machineId, actor.userId, d.endedAt ?? ctx.clock.now(), d.startedAt);
  if (!ran) throw forbidden('none of your stages ran on this machine during this downtime');
}

/** PATCH /downtimes/{id}: sets (or clears, with null) the reason and its note; an event records who and what. */
export function assignReason(
  ctx: AppContext,
  tx: Tx,
  actor: Actor,
  id: number,
  body: { reason_code: string | null; note?: string | null | undefined },
): DowntimeView {
  const d = row(ctx, id);
  if (body.reason_code !== null && reasonLabel(ctx, body.reason_code) === undefined) {
    throw validation('reason_code', 'must be a reason code of the configured tree (GET /downtime-reasons), not a group');
  }
  checkWorkerMachine(ctx, actor, d);
  const now = ctx.clock.now();
  const updated = ctx.store.db
    .update(downtimes)
    .set({
      reasonCode: body.reason_code,
      note: body.note === undefined ? d.note : body.note,
      reasonBy: actor.userId,
      reasonAt: now,
      updatedAt: now,
    })
    .where(eq(downtimes.id, id))
    .returning()
    .get();
  tx.emit({
    kind: 'downtime.reason_set',
    entityType: 'machine',
    entityId: d.machineId,
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { downtime_id: id, reason_code: body.reason_code, previous: d.reasonCode },
  });
  return toView(ctx, updated);
}
