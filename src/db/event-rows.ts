import type { Database } from 'better-sqlite3';
import type { ShopEvent } from '../events/bus.ts';
import type { IdAllocator } from './ids.ts';

/** A shop-floor event to record with the change it describes. */
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

/** Appends an immutable event row; only the command path calls it, inside the change's transaction. */
export type AppendEvent = (e: NewEvent) => ShopEvent;

export function createEventRows(sqlite: Database, ids: IdAllocator, now: () => number): AppendEvent {
  const insert = sqlite.prepare(
    'INSERT INTO events (id, kind, entity_type, entity_id, work_order_id, from_status, to_status, occurred_at, recorded_at, actor_user_id, request_id, data) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return (e) => {
    const at = now();
    const row: ShopEvent = {
      id: ids.next('events'),
      kind: e.kind,
      entityType: e.entityType,
      entityId: e.entityId,
      workOrderId: e.workOrderId ?? null,
      fromStatus: e.fromStatus ?? null,
      toStatus: e.toStatus ?? null,
      occurredAt: e.occurredAt ?? at,
      recordedAt: at,
      actorUserId: e.actorUserId ?? null,
      requestId: e.requestId ?? null,
      data: e.data ?? null,
    };
    insert.run(
      row.id,
      row.kind,
      row.entityType,
      row.entityId,
      row.workOrderId,
      row.fromStatus,
      row.toStatus,
      row.occurredAt,
      row.recordedAt,
      row.actorUserId,
      row.requestId,
      row.data === null ? null : JSON.stringify(row.data),
    );
    return row;
  };
}
