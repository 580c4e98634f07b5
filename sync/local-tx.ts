import type { Database } from 'better-sqlite3';
import { parseHlc } from './hlc.ts';
import { isLocalRowRefusal } from './local-refusal.ts';

/**
 * The one way sync writes the edge's SQLite (docs/architecture.md, "Data access"). Sync runs on a
 * connection of its own beside the gateway's command runner and writes whole replicated rows, so
 * it does not go through `tx.<entity>`: its SQL is generated from sync/tables.ts, the same column
 * lists the data modules are checked against (test/data-columns.test.ts).
 */

/** Runs fn in one IMMEDIATE transaction: the write lock is taken at BEGIN, so fn never meets SQLITE_BUSY half-way. */
export function localTransaction<T>(sqlite: Database, fn: () => T): T {
  return sqlite.transaction(fn).immediate();
}

/** What applying HQ's rows sees of its transaction. */
export interface HqApply {
  /** Notes a row's clocks: the local HLC moves past the highest once the rows are applied. */
  observe(clocks: Record<string, string>): void;
  /**
   * Writes one row in a savepoint of its own. A refusal of the row itself (a constraint,
   * sync/local-refusal.ts) undoes that row alone and is returned, for the caller to set aside;
   * any other fault (full disk, I/O, a missing column) is thrown and undoes the whole transaction.
   */
  row(write: () => void): Error | undefined;
}

/**
 * Applies rows from HQ (pull, replay, restore) in one IMMEDIATE transaction: capture is suspended
 * while `apply` runs (sync_state.applying, capture-sql.ts), so nothing echoes back to HQ; then the
 * local HLC observes the clocks seen, capture resumes, and `after` runs in the same transaction
 * (event rows and cursors written there are captured as usual). With `enableCapture` (restore)
 * capture is switched on for good in the same statement.
 */
export function applyFromHq<A, T>(sqlite: Database, apply: (tx: HqApply) => A, after: (applied: A) => T, opts: { enableCapture?: boolean } = {}): T {
  return localTransaction(sqlite, () => {
    sqlite.prepare(`UPDATE sync_state SET ${opts.enableCapture ? 'capture = 1, ' : ''}applying = 1 WHERE id = 1`).run();
    let maxClock = '';
    const applied = apply({
      observe: (clocks) => {
        for (const c of Object.values(clocks)) if (c > maxClock) maxClock = c;
      },
      row: (write) => {
        try {
          sqlite.transaction(write)();
          return undefined;
        } catch (err) {
          if (!isLocalRowRefusal(err)) throw err;
          return err as Error;
        }
      },
    });
    observeClock(sqlite, maxClock);
    sqlite.prepare('UPDATE sync_state SET applying = 0 WHERE id = 1').run();
    return after(applied);
  });
}

/**
 * HLC receive rule: after seeing a remote clock, local clocks continue above it (the next
 * capture ticks past it, carrying into the wall past COUNTER_MAX). A remote clock stamped
 * before the carry rule with a 6-digit counter is carried first, so the state stays 5 digits.
 */
export function observeClock(sqlite: Database, clock: string): void {
  if (!clock) return;
  const h = parseHlc(clock);
  sqlite
    .prepare('UPDATE sync_state SET wall = ?, counter = ? WHERE id = 1 AND (wall < ? OR (wall = ? AND counter < ?))')
    .run(h.wall, h.counter, h.wall, h.wall, h.counter);
}
