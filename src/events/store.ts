import type { AppContext } from '../context.ts';
import { sql } from 'drizzle-orm';
import { prepared } from '../db/prepared.ts';
import { events } from '../db/schema.ts';
import type { ShopEvent } from './bus.ts';

export interface NewEvent {
  kind: string;
  entityType: 'work_order' | 'stage' | 'issue' | 'machine';
  entityId: number;
  workOrderId?: number | null;
  fromStatus?: string | null;
  toStatus?: string | null;
  /** When it happened on the floor (a terminal's `at`); defaults to now. */
  occurredAt?: number;
  actorUserId?: number | null;
  requestId?: string | null;
  data?: Record<string, unknown> | null;
}

const insertEvent = (ctx: Pick<AppContext, 'store'>) =>
  prepared(ctx.store, 'insertEvent', (s) =>
    s.db
      .insert(events)
      .values({
        id: sql.placeholder('id'),
        kind: sql.placeholder('kind'),
        entityType: sql.placeholder('entityType'),
        entityId: sql.placeholder('entityId'),
        workOrderId: sql.placeholder('workOrderId'),
        fromStatus: sql.placeholder('fromStatus'),
        toStatus: sql.placeholder('toStatus'),
        occurredAt: sql.placeholder('occurredAt'),
        recordedAt: sql.placeholder('recordedAt'),
        actorUserId: sql.placeholder('actorUserId'),
        requestId: sql.placeholder('requestId'),
        // drizzle applies the column's JSON encoding to the placeholder's value.
        data: sql.placeholder('data'),
      })
      .prepare(),
  );

/** Appends an immutable event row; call inside the transaction of the state change it records. */
export function appendEvent(ctx: Pick<AppContext, 'store' | 'clock'>, e: NewEvent): ShopEvent {
  const now = ctx.clock.now();
  const row: ShopEvent = {
    id: ctx.store.ids.next('events'),
    kind: e.kind,
    entityType: e.entityType,
    entityId: e.entityId,
    workOrderId: e.workOrderId ?? null,
    fromStatus: e.fromStatus ?? null,
    toStatus: e.toStatus ?? null,
    occurredAt: e.occurredAt ?? now,
    recordedAt: now,
    actorUserId: e.actorUserId ?? null,
    requestId: e.requestId ?? null,
    data: e.data ?? null,
  };
  insertEvent(ctx).run({ ...row });
  return row;
}

/** Publishes events on the in-process bus once their transaction has committed, never before. */
export function publishAll(ctx: Pick<AppContext, 'bus' | 'store'>, committed: ShopEvent[]): void {
  if (committed.length === 0) return;
  ctx.store.afterCommit(() => {
    for (const e of committed) ctx.bus.publish(e);
  });
}
