import type { Database } from 'better-sqlite3';
import { localTransaction } from './local-tx.ts';
import type { TableSpec } from './tables.ts';

export interface OutboxRow {
  seq: number;
  tx: number;
  hlc: string;
  tbl: string;
  pk: string;
  op: string;
  data: string;
}

/**
 * Closes the open epoch so everything captured so far forms whole groups: writers are
 * serialised, so a transaction's rows all carry the epoch that was open when it wrote.
 */
export function closeEpoch(sqlite: Database): void {
  localTransaction(sqlite, () => {
    sqlite.prepare('UPDATE sync_state SET epoch = epoch + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM sync_outbox WHERE tx >= sync_state.epoch)').run();
  });
}

/**
 * A batch of whole closed epochs: every outbox row up to `lastSeq`. Only its bounds: the rows are
 * read a chunk at a time (readChunk), so no batch, however large its epoch, is held in memory.
 */
export interface Batch {
  lastSeq: number;
}

/**
 * The next batch: whole closed epochs, oldest first, until at least `maxRows` rows (a single
 * epoch larger than that travels alone, still in one HQ transaction).
 */
export function nextBatch(sqlite: Database, maxRows: number): Batch | undefined {
  // Epochs take consecutive sequence numbers (writers are serialised and the epoch only grows),
  // and the outbox is deleted only from its start, so an epoch's size is the distance between
  // its last sequence and the previous one's. Two index seeks per epoch, on (tx, seq): nothing
  // is counted row by row, not even an epoch of millions.
  const open = (sqlite.prepare('SELECT epoch FROM sync_state WHERE id = 1').get() as { epoch: number }).epoch;
  const first = sqlite.prepare('SELECT seq, tx FROM sync_outbox WHERE seq = (SELECT min(seq) FROM sync_outbox)').get() as
    | { seq: number; tx: number }
    | undefined;
  if (!first || first.tx >= open) return undefined;
  const lastOf = sqlite.prepare<[number], { last: number }>('SELECT max(seq) AS last FROM sync_outbox WHERE tx = ?');
  const nextTx = sqlite.prepare<[number, number], { tx: number }>('SELECT tx FROM sync_outbox WHERE tx > ? AND tx < ? ORDER BY tx LIMIT 1');
  let tx: number | undefined = first.tx;
  let lastSeq = first.seq - 1;
  while (tx !== undefined) {
    const last = lastOf.get(tx)?.last ?? lastSeq;
    if (lastSeq >= first.seq && last - first.seq + 1 > maxRows) break;
    lastSeq = last;
    if (lastSeq - first.seq + 1 >= maxRows) break;
    tx = nextTx.get(tx, open)?.tx;
  }
  return { lastSeq };
}

/**
 * Outbox rows read (and sent) at a time: bounds the push's memory whatever the batch, and how long
 * one chunk holds the event loop. 10,000 readings took ~95 ms of it (36 ms SQLite read, 59 ms
 * building pg's array parameters), 2,000 ~20 ms, and 200,000 readings drained in 5.7 s instead of
 * 6.9 s (a loaded 2-core box, 2026-12).
 */
export const CHUNK_ROWS = 2_000;

/** One slice of a batch: outbox rows with `after < seq <= lastSeq`, oldest first. */
export interface Chunk {
  lastSeq: number;
  /** The changes of mutable tables in the slice, oldest first. */
  changes: OutboxRow[];
  /** Per fact table, its rows in the slice (read now: facts never change). */
  facts: Map<string, Array<Record<string, unknown> & { seq: number }>>;
}

/**
 * The next at most `maxRows` outbox rows after `after`, up to `through`, with the rows of the
 * facts among them. Returns undefined when none is left.
 */
export function readChunk(sqlite: Database, factTables: TableSpec[], after: number, through: number, maxRows: number): Chunk | undefined {
  const end = sqlite.prepare('SELECT seq FROM sync_outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 1 OFFSET ?').get(after, through, maxRows - 1) as
    | { seq: number }
    | undefined;
  const lastSeq =
    end?.seq ?? (sqlite.prepare('SELECT max(seq) AS s FROM sync_outbox WHERE seq > ? AND seq <= ?').get(after, through) as { s: number | null }).s;
  if (lastSeq === null) return undefined;
  const changes = sqlite
    .prepare("SELECT seq, tx, hlc, tbl, pk, op, data FROM sync_outbox WHERE seq > ? AND seq <= ? AND hlc <> '' ORDER BY seq")
    .all(after, lastSeq) as OutboxRow[];
  const facts = new Map(factTables.map((spec) => [spec.name, factRows(sqlite, spec, after, lastSeq)]));
  return { lastSeq, changes, facts };
}

/**
 * The rows of one fact table that the outbox holds in `(after, through]`, each with its outbox
 * `seq` (facts never change, so the row itself is read now rather than copied at capture).
 */
function factRows(sqlite: Database, spec: TableSpec, after: number, through: number): Array<Record<string, unknown> & { seq: number }> {
  const cols = Object.keys(spec.cols)
    .map((c) => `r.${c}`)
    .join(', ');
  return sqlite
    .prepare(
      `SELECT o.seq AS seq, ${cols} FROM sync_outbox o JOIN ${spec.name} r ON r.id = CAST(o.pk AS INTEGER) WHERE o.seq > ? AND o.seq <= ? AND +o.tbl = ? ORDER BY o.seq`,
    )
    .all(after, through, spec.name) as Array<Record<string, unknown> & { seq: number }>;
}

/** The earliest and latest `recorded_at` of the readings the outbox holds in `(after, through]` (ms), or undefined. */
export function readingsSpan(sqlite: Database, after: number, through: number): { min: number; max: number } | undefined {
  const row = sqlite
    .prepare(
      "SELECT min(r.recorded_at) AS lo, max(r.recorded_at) AS hi FROM sync_outbox o JOIN machine_readings r ON r.id = CAST(o.pk AS INTEGER) WHERE o.seq > ? AND o.seq <= ? AND +o.tbl = 'machine_readings'",
    )
    .get(after, through) as { lo: number | null; hi: number | null };
  return row.lo === null || row.hi === null ? undefined : { min: Number(row.lo), max: Number(row.hi) };
}

/**
 * Rows count as synced only now, after HQ committed them: deletes at most `maxRows` of the rows
 * up to `lastSeq`, oldest first, and returns how many (call until 0; each call may be its own
 * transaction: HQ's cursor already covers them all, so a crash between calls loses nothing).
 */
export function ackThrough(sqlite: Database, lastSeq: number, maxRows: number): number {
  return sqlite.prepare('DELETE FROM sync_outbox WHERE seq IN (SELECT seq FROM sync_outbox WHERE seq <= ? ORDER BY seq LIMIT ?)').run(lastSeq, maxRows).changes;
}

/** The highest outbox sequence this database ever issued (AUTOINCREMENT never reuses one). */
export function highestSeq(sqlite: Database): number {
  const row = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'").get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}

/** The statements backlog() runs, exported so a test can check their query plans. */
export const BACKLOG_SQL = {
  oldest: 'SELECT seq, at FROM sync_outbox WHERE seq = (SELECT min(seq) FROM sync_outbox)',
  issued: "SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'",
} as const;

/**
 * Rows waiting and the capture time of the oldest, in O(log n): the outbox holds every sequence
 * from its oldest row to the last one issued (rows are only ever deleted from the start, by
 * acknowledgement), so the count is their difference; no row is counted.
 */
export function backlog(sqlite: Database): { count: number; oldestAt: number | null } {
  const oldest = sqlite.prepare(BACKLOG_SQL.oldest).get() as { seq: number; at: number } | undefined;
  if (!oldest) return { count: 0, oldestAt: null };
  const issued = (sqlite.prepare(BACKLOG_SQL.issued).get() as { seq: number } | undefined)?.seq ?? oldest.seq;
  return { count: issued - oldest.seq + 1, oldestAt: oldest.at };
}
