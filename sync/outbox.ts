import type { Database } from 'better-sqlite3';

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

/**
 * The next batch: whole closed epochs, oldest first, until at least `maxRows` rows (a single
 * epoch larger than that travels alone, still in one HQ transaction).
 */
export function nextBatch(sqlite: Database, maxRows: number): { rows: OutboxRow[]; lastSeq: number } | undefined {
  const groups = sqlite
    .prepare(
      'SELECT tx, count(*) AS n, max(seq) AS last FROM sync_outbox WHERE tx < (SELECT epoch FROM sync_state WHERE id = 1) GROUP BY tx ORDER BY tx LIMIT 1000',
    )
    .all() as Array<{ tx: number; n: number; last: number }>;
  let lastSeq = 0;
  let total = 0;
  for (const g of groups) {
    if (total > 0 && total + g.n > maxRows) break;
    total += g.n;
    lastSeq = g.last;
  }
  if (total === 0) return undefined;
  const rows = sqlite.prepare('SELECT seq, tx, hlc, tbl, pk, op, data FROM sync_outbox WHERE seq <= ? ORDER BY seq').all(lastSeq) as OutboxRow[];
  return { rows, lastSeq };
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
