import type { Database } from 'better-sqlite3';
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
  sqlite
    .transaction(() => {
      sqlite.prepare('UPDATE sync_state SET epoch = epoch + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM sync_outbox WHERE tx >= sync_state.epoch)').run();
    })
    .immediate();
}

/** A batch of whole closed epochs: every outbox row up to `lastSeq`. */
export interface Batch {
  /** Outbox rows in the batch (changes and facts). */
  count: number;
  lastSeq: number;
  /** The changes of mutable tables, oldest first; facts are read with their rows (factRows). */
  changes: OutboxRow[];
}

/**
 * The next batch: whole closed epochs, oldest first, until at least `maxRows` rows (a single
 * epoch larger than that travels alone, still in one HQ transaction).
 */
export function nextBatch(sqlite: Database, maxRows: number): Batch | undefined {
  // Walks the epochs in order on the (tx, seq) index and stops as soon as the batch is full, so a
  // long backlog is not counted in full for every batch.
  const groups = sqlite
    .prepare('SELECT tx, count(*) AS n, max(seq) AS last FROM sync_outbox WHERE tx < (SELECT epoch FROM sync_state WHERE id = 1) GROUP BY tx ORDER BY tx')
    .iterate() as IterableIterator<{ tx: number; n: number; last: number }>;
  let lastSeq = 0;
  let count = 0;
  for (const g of groups) {
    if (count > 0 && count + g.n > maxRows) break;
    count += g.n;
    lastSeq = g.last;
    if (count >= maxRows) break;
  }
  if (count === 0) return undefined;
  const changes = sqlite
    .prepare("SELECT seq, tx, hlc, tbl, pk, op, data FROM sync_outbox WHERE seq <= ? AND hlc <> '' ORDER BY seq")
    .all(lastSeq) as OutboxRow[];
  return { count, lastSeq, changes };
}

/**
 * The rows of one fact table that the outbox holds up to `lastSeq`, each with its outbox `seq`
 * (facts never change, so the row itself is read now rather than copied at capture).
 */
export function factRows(sqlite: Database, spec: TableSpec, lastSeq: number): Array<Record<string, unknown> & { seq: number }> {
  const cols = Object.keys(spec.cols)
    .map((c) => `r.${c}`)
    .join(', ');
  return sqlite
    .prepare(
      `SELECT o.seq AS seq, ${cols} FROM sync_outbox o JOIN ${spec.name} r ON r.id = CAST(o.pk AS INTEGER) WHERE o.seq <= ? AND o.tbl = ? ORDER BY o.seq`,
    )
    .all(lastSeq, spec.name) as Array<Record<string, unknown> & { seq: number }>;
}

/** Rows count as synced only now, after HQ committed them (call inside a write transaction). */
export function ackThrough(sqlite: Database, lastSeq: number): void {
  sqlite.prepare('DELETE FROM sync_outbox WHERE seq <= ?').run(lastSeq);
}

/** The highest outbox sequence this database ever issued (AUTOINCREMENT never reuses one). */
export function highestSeq(sqlite: Database): number {
  const row = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'").get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}

export function backlog(sqlite: Database): { count: number; oldestAt: number | null } {
  const row = sqlite.prepare('SELECT count(*) AS n, min(at) AS oldest FROM sync_outbox').get() as { n: number; oldest: number | null };
  return { count: row.n, oldestAt: row.oldest };
}
