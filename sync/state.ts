import type { Database } from 'better-sqlite3';
import { SQLITE_TICK } from './hlc.ts';
import { localTransaction } from './local-tx.ts';
import { AHEAD_ROWS, enqueueFactsAhead, enqueueSnapshot } from './snapshot.ts';
import { FACT_TABLES } from './tables.ts';

// The HLC receive rule lives with the transaction helper that applies HQ's rows (local-tx.ts).
export { observeClock } from './local-tx.ts';

/** Small key/value facts of sync kept in SQLite (cursors, last times, last error). */
export function getMeta(sqlite: Database, key: string): string | undefined {
  return (sqlite.prepare('SELECT value FROM sync_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(sqlite: Database, key: string, value: string | number | null): void {
  if (value === null) sqlite.prepare('DELETE FROM sync_meta WHERE key = ?').run(key);
  else sqlite.prepare('INSERT INTO sync_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(value));
}

/**
 * Turns capture on the first time sync is configured, and enqueues every row that existed
 * before, in the same transaction, so HQ receives the whole history once (as many epochs of
 * SNAPSHOT_EPOCH_ROWS, snapshot.ts). Returns how many rows were enqueued (0 when capture was
 * already on).
 */
export function enableCapture(sqlite: Database): number {
  return localTransaction(sqlite, () => {
    const on = (sqlite.prepare('SELECT capture FROM sync_state WHERE id = 1').get() as { capture: number } | undefined)?.capture;
    if (on === 1) return 0;
    sqlite.exec(SQLITE_TICK);
    const added = enqueueSnapshot(sqlite);
    sqlite.exec('UPDATE sync_state SET capture = 1 WHERE id = 1');
    return added;
  });
}

/**
 * enableCapture for a box with a large history: the facts (readings, event rows) are enqueued
 * first in short transactions of their own (enqueueFactsAhead), pausing between them so the API
 * keeps answering, and only the rest goes into the transaction that turns capture on. On a small
 * database it turns capture on before returning its promise. A crash part-way resumes where it
 * stopped. Returns how many rows were enqueued.
 */
export async function enableCaptureGradually(sqlite: Database, pause: () => Promise<void>, aheadRows = AHEAD_ROWS): Promise<number> {
  let ahead = 0;
  for (const spec of FACT_TABLES) {
    for (let n = enqueueFactsAhead(sqlite, spec, aheadRows); n > 0; n = enqueueFactsAhead(sqlite, spec, aheadRows)) {
      ahead += n;
      await pause();
    }
  }
  return ahead + enableCapture(sqlite);
}
