import type { Database } from 'better-sqlite3';
import { parseHlc } from './hlc.ts';
import { DELETED, FACT_TABLES, MUTABLE_TABLES, type TableSpec } from './tables.ts';
import { SQLITE_NOW_MS, SQLITE_TICK } from './hlc.ts';

/** Small key/value facts of sync kept in SQLite (cursors, last times, last error). */
export function getMeta(sqlite: Database, key: string): string | undefined {
  return (sqlite.prepare('SELECT value FROM sync_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(sqlite: Database, key: string, value: string | number | null): void {
  if (value === null) sqlite.prepare('DELETE FROM sync_meta WHERE key = ?').run(key);
  else sqlite.prepare('INSERT INTO sync_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, String(value));
}

function snapshotSql(spec: TableSpec): string {
  const key = spec.pk.map((c) => `CAST(r.${c} AS TEXT)`).join(" || ':' || ");
  const hlc = `printf('%013d-%05d-%04d', s.wall, s.counter, coalesce((SELECT CAST(value AS INTEGER) FROM gateway_meta WHERE key = 'site_id'), 0))`;
  if (spec.fact) {
    return `INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) SELECT s.epoch, '', '${spec.name}', ${key}, 'I', '{}', ${SQLITE_NOW_MS} FROM ${spec.name} r, sync_state s WHERE s.id = 1 ORDER BY ${spec.pk.map((c) => `r.${c}`).join(', ')}`;
  }
  const obj = `json_object(${Object.keys(spec.cols)
    .map((c) => `'${c}', r.${c}`)
    .join(', ')}, '${DELETED}', 0)`;
  return [
    `INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) SELECT s.epoch, ${hlc}, '${spec.name}', ${key}, 'I', ${obj}, ${SQLITE_NOW_MS} FROM ${spec.name} r, sync_state s WHERE s.id = 1 ORDER BY ${spec.pk.map((c) => `r.${c}`).join(', ')}`,
    `INSERT INTO sync_clock (tbl, pk, clocks) SELECT '${spec.name}', ${key}, (SELECT json_group_object(e.key, ${hlc}) FROM json_each(${obj}) e) FROM ${spec.name} r, sync_state s WHERE s.id = 1 ON CONFLICT (tbl, pk) DO UPDATE SET clocks = json_patch(clocks, excluded.clocks)`,
  ].join(';\n');
}

/**
 * Turns capture on the first time sync is configured, and enqueues every row that existed
 * before, in the same transaction, so HQ receives the whole history once. Returns how many rows
 * were enqueued (0 when capture was already on).
 */
export function enableCapture(sqlite: Database): number {
  return sqlite
    .transaction(() => {
      const on = (sqlite.prepare('SELECT capture FROM sync_state WHERE id = 1').get() as { capture: number } | undefined)?.capture;
      if (on === 1) return 0;
      sqlite.exec(SQLITE_TICK);
      const before = (sqlite.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;
      for (const spec of [...MUTABLE_TABLES, ...FACT_TABLES]) sqlite.exec(snapshotSql(spec));
      sqlite.exec('UPDATE sync_state SET capture = 1 WHERE id = 1');
      return (sqlite.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n - before;
    })
    .immediate();
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
