import type { AppContext } from '../context.ts';
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
  ctx.store.db.insert(events).values(row).run();
  return row;
}

/** Publishes events on the in-process bus once their transaction has committed, never before. */
export function publishAll(ctx: Pick<AppContext, 'bus' | 'store'>, committed: ShopEvent[]): void {
  if (committed.length === 0) return;
  ctx.store.afterCommit(() => {
    for (const e of committed) ctx.bus.publish(e);
  });
}
