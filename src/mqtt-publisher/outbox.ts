import type { Database } from 'better-sqlite3';
import type { TopicTree } from './topics.ts';

/** One queued message, ready for the wire; topic null when its row is gone (readings pruned). */
export interface OutboxMessage {
  seq: number;
  topic: string | null;
  payload: string;
  retain: boolean;
}

interface Row {
  seq: number;
  kind: number;
  r_id: number | null;
  machine_id: number | null;
  reading_type: string | null;
  value: number | null;
  unit: string | null;
  quality: string | null;
  source_ts: number | null;
  machine_name: string | null;
  e_id: number | null;
  e_kind: string | null;
  entity_type: string | null;
  entity_id: number | null;
  work_order_id: number | null;
  from_status: string | null;
  to_status: string | null;
  occurred_at: number | null;
  recorded_at: number | null;
  actor_user_id: number | null;
  request_id: string | null;
  data: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function parseData(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Whether the triggers queue new rows: on only while MQTT is configured (set at start-up). */
export function setOutboxQueueing(sqlite: Database, on: boolean): void {
  sqlite
    .prepare("INSERT INTO gateway_meta (key, value) VALUES ('mqtt_outbox', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    .run(on ? 'on' : 'off');
}

/**
 * The SQLite queue filled by the triggers of migration 0004. It holds references only; the
 * payload is built here from the joined rows when the message is sent.
 */
export function createOutbox(sqlite: Database, topics: TopicTree, retainReadings: boolean) {
  const select = sqlite.prepare(
    `SELECT o.seq, o.kind, r.id AS r_id, r.machine_id, r.reading_type, r.value, r.unit, r.quality, r.source_ts,
            m.name AS machine_name, e.id AS e_id, e.kind AS e_kind, e.entity_type, e.entity_id, e.work_order_id,
            e.from_status, e.to_status, e.occurred_at, e.recorded_at, e.actor_user_id, e.request_id, e.data
       FROM mqtt_outbox o
       LEFT JOIN machine_readings r ON o.kind = 1 AND r.id = o.ref_id
       LEFT JOIN machines m ON m.id = r.machine_id
       LEFT JOIN events e ON o.kind = 2 AND e.id = o.ref_id
      WHERE o.seq > ? ORDER BY o.seq LIMIT ?`,
  );
  const remove = sqlite.prepare('DELETE FROM mqtt_outbox WHERE seq IN (SELECT value FROM json_each(?))');
  const count = sqlite.prepare('SELECT count(*) AS n FROM mqtt_outbox').pluck();
  const span = sqlite.prepare('SELECT coalesce(max(seq) - min(seq) + 1, 0) AS n FROM mqtt_outbox').pluck();
  const oldestKept = sqlite.prepare('SELECT seq FROM mqtt_outbox ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck();
  const dropBefore = sqlite.prepare('DELETE FROM mqtt_outbox WHERE seq < ?');

  const toMessage = (r: Row): OutboxMessage => {
    if (r.kind === 1 && r.r_id !== null && r.machine_id !== null && r.reading_type !== null) {
      const payload = JSON.stringify({
        id: r.r_id,
        machine_id: r.machine_id,
        reading_type: r.reading_type,
        value: r.value,
        unit: r.unit,
        quality: r.quality,
        timestamp: iso(r.source_ts),
      });
      return { seq: r.seq, topic: topics.reading(r.machine_name ?? String(r.machine_id), r.reading_type), payload, retain: retainReadings };
    }
    if (r.kind === 2 && r.e_id !== null && r.entity_type !== null) {
      const payload = JSON.stringify({
        id: r.e_id,
        kind: r.e_kind,
        entity_type: r.entity_type,
        entity_id: r.entity_id,
        work_order_id: r.work_order_id,
        from_status: r.from_status,
        to_status: r.to_status,
        occurred_at: iso(r.occurred_at),
        recorded_at: iso(r.recorded_at),
        actor_user_id: r.actor_user_id,
        request_id: r.request_id,
        data: parseData(r.data),
      });
      return { seq: r.seq, topic: topics.event(r.entity_type), payload, retain: false };
    }
    return { seq: r.seq, topic: null, payload: '', retain: false };
  };

  return {
    /** Turns queueing on or off for the triggers (on only while MQTT is configured). */
    enable: (on: boolean) => setOutboxQueueing(sqlite, on),
    /** Messages after seq, oldest first. */
    read: (afterSeq: number, limit: number): OutboxMessage[] => (select.all(afterSeq, limit) as Row[]).map(toMessage),
    /** Removes acknowledged messages (one statement for a whole batch of PUBACKs). */
    remove: (seqs: number[]) => void remove.run(JSON.stringify(seqs)),
    depth: () => count.get() as number,
    /** Drops the oldest beyond cap; returns how many. Cheap when under the cap (min/max only). */
    trim: (cap: number): number => {
      if ((span.get() as number) <= cap) return 0;
      const keepFrom = oldestKept.get(cap - 1) as number | undefined;
      return keepFrom === undefined ? 0 : dropBefore.run(keepFrom).changes;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
