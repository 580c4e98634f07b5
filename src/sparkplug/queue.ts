import type { Database } from 'better-sqlite3';
import type { Quality } from '../core/vocabulary.ts';
import type { LatestReading } from '../events/bus.ts';

/** One queued reading, joined with its row and machine; `reading` null when retention pruned the row first. */
export interface QueuedReading {
  seq: number;
  reading: (LatestReading & { machine: string }) | null;
}

/** The current value of one reading type of one machine (machine_latest), for a DBIRTH. */
export interface CurrentValue {
  machineId: number;
  machine: string;
  status: string;
  source: string;
  readingType: string;
  value: number | null;
  unit: string | null;
  quality: Quality;
  sourceTs: number;
}

interface Row {
  seq: number;
  machine_id: number | null;
  machine: string | null;
  reading_type: string | null;
  value: number | null;
  unit: string | null;
  quality: Quality | null;
  reason: string | null;
  source_ts: number | null;
}

const META_SET = 'INSERT INTO gateway_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/** Whether the trigger of migration 0008 queues readings for the edge node (on only while MQTT_SPARKPLUG is). */
export function setSparkplugQueueing(sqlite: Database, on: boolean): void {
  sqlite.prepare(META_SET).run('sparkplug_outbox', on ? 'on' : 'off');
}

/**
 * The edge node's store-and-forward queue (`sparkplug_outbox`, migration 0008) and what a birth
 * reads: the current value of every reading type, and the bdSeq kept across restarts.
 */
export function createSparkplugQueue(sqlite: Database) {
  const select = sqlite.prepare(
    `SELECT o.seq, r.machine_id, m.name AS machine, r.reading_type, r.value, r.unit, r.quality, r.reason, r.source_ts
       FROM sparkplug_outbox o
       LEFT JOIN machine_readings r ON r.id = o.reading_id
       LEFT JOIN machines m ON m.id = r.machine_id
      WHERE o.seq > ? ORDER BY o.seq LIMIT ?`,
  );
  const remove = sqlite.prepare('DELETE FROM sparkplug_outbox WHERE seq IN (SELECT value FROM json_each(?))');
  const issued = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sparkplug_outbox'").pluck();
  const oldest = sqlite.prepare('SELECT min(seq) FROM sparkplug_outbox').pluck();
  const current = sqlite.prepare(
    `SELECT l.machine_id AS machineId, m.name AS machine, m.status, m.source, l.reading_type AS readingType, l.value, l.unit, l.quality, l.source_ts AS sourceTs
       FROM machine_latest l JOIN machines m ON m.id = l.machine_id
      ORDER BY m.name, l.reading_type`,
  );
  const machineState = sqlite.prepare('SELECT status, source FROM machines WHERE id = ?');
  const dropUpTo = sqlite.prepare('DELETE FROM sparkplug_outbox WHERE seq <= ?');
  const getMeta = sqlite.prepare('SELECT value FROM gateway_meta WHERE key = ?').pluck();
  const setMeta = sqlite.prepare(META_SET);

  return {
    enable: (on: boolean) => setSparkplugQueueing(sqlite, on),
    /** Queued readings after seq, oldest first. */
    read: (afterSeq: number, limit: number): QueuedReading[] =>
      (select.all(afterSeq, limit) as Row[]).map((r) => ({
        seq: r.seq,
        reading:
          r.machine_id === null || r.reading_type === null || r.quality === null || r.source_ts === null
            ? null
            : {
                machineId: r.machine_id,
                machine: r.machine ?? String(r.machine_id),
                readingType: r.reading_type,
                value: r.value,
                unit: r.unit,
                quality: r.quality,
                reason: r.reason,
                sourceTs: r.source_ts,
              },
      })),
    /** Removes acknowledged rows (one statement per batch of PUBACKs). */
    remove: (seqs: number[]) => void remove.run(JSON.stringify(seqs)),
    /** The last seq issued: rows up to it were queued before now (0 when none ever was). */
    lastIssued: () => (issued.get() as number | undefined) ?? 0,
    /** Rows waiting, in O(log n): rows leave only by acknowledgement, oldest first in the steady state. */
    depth: (): number => {
      const first = oldest.get() as number | null;
      return first === null ? 0 : ((issued.get() as number | undefined) ?? first) - first + 1;
    },
    currentValues: () => current.all() as CurrentValue[],
    machineState: (machineId: number) => machineState.get(machineId) as { status: string; source: string } | undefined,
    /** Drops the oldest rows beyond cap; returns how many. One indexed range delete, only when over. */
    trim: (cap: number): number => {
      const last = (issued.get() as number | undefined) ?? 0;
      const first = oldest.get() as number | null;
      return first !== null && last - first + 1 > cap ? dropUpTo.run(last - cap).changes : 0;
    },
    /** The bdSeq of the last connect attempt, kept across restarts (gateway_meta 'sparkplug_bdseq'). */
    lastBdSeq: (): number | undefined => {
      const v = Number(getMeta.get('sparkplug_bdseq'));
      return Number.isInteger(v) && v >= 0 && v <= 255 ? v : undefined;
    },
    saveBdSeq: (bdSeq: number) => void setMeta.run('sparkplug_bdseq', String(bdSeq)),
  };
}

export type SparkplugQueue = ReturnType<typeof createSparkplugQueue>;
