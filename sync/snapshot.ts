import type { Database } from 'better-sqlite3';
import { localTransaction } from './local-tx.ts';
import { SQLITE_NOW_MS } from './hlc.ts';
import { DELETED, FACT_TABLES, MUTABLE_TABLES, type TableSpec } from './tables.ts';

/**
 * Rows per snapshot epoch. The snapshot of a box that stored millions of rows before sync was
 * configured is many epochs, each a whole set of rows, so it reaches HQ in batches of ordinary
 * size (push.ts BATCH_ROWS) rather than as one HQ transaction of millions of rows.
 */
export const SNAPSHOT_EPOCH_ROWS = 20_000;

type Key = Record<string, unknown>;

/** `(r.a, r.b) > (@a_after, @a_after)` and `<=` bounds on the primary key (row values: SQLite ≥ 3.15). */
function keyRange(spec: TableSpec, after: Key | undefined, through: Key | undefined): string {
  const cols = `(${spec.pk.map((c) => `r.${c}`).join(', ')})`;
  const conds = ['1'];
  if (after) conds.push(`${cols} > (${spec.pk.map((c) => `@after_${c}`).join(', ')})`);
  if (through) conds.push(`${cols} <= (${spec.pk.map((c) => `@through_${c}`).join(', ')})`);
  return conds.join(' AND ');
}

function params(spec: TableSpec, after: Key | undefined, through: Key | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of spec.pk) {
    if (after) out[`after_${c}`] = after[c];
    if (through) out[`through_${c}`] = through[c];
  }
  return out;
}

/** The statements that enqueue the rows of `spec` whose key is in (after, through], as one epoch. */
function enqueueSql(spec: TableSpec, range: string): string[] {
  const key = spec.pk.map((c) => `CAST(r.${c} AS TEXT)`).join(" || ':' || ");
  const order = spec.pk.map((c) => `r.${c}`).join(', ');
  const hlc = `printf('%013d-%05d-%04d', s.wall, s.counter, coalesce((SELECT CAST(value AS INTEGER) FROM gateway_meta WHERE key = 'site_id'), 0))`;
  if (spec.fact) {
    return [
      `INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) SELECT s.epoch, '', '${spec.name}', ${key}, 'I', '{}', ${SQLITE_NOW_MS} FROM ${spec.name} r, sync_state s WHERE s.id = 1 AND ${range} ORDER BY ${order}`,
    ];
  }
  const obj = `json_object(${Object.keys(spec.cols)
    .map((c) => `'${c}', r.${c}`)
    .join(', ')}, '${DELETED}', 0)`;
  return [
    `INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) SELECT s.epoch, ${hlc}, '${spec.name}', ${key}, 'I', ${obj}, ${SQLITE_NOW_MS} FROM ${spec.name} r, sync_state s WHERE s.id = 1 AND ${range} ORDER BY ${order}`,
    `INSERT INTO sync_clock (tbl, pk, clocks) SELECT '${spec.name}', ${key}, (SELECT json_group_object(e.key, ${hlc}) FROM json_each(${obj}) e) FROM ${spec.name} r, sync_state s WHERE s.id = 1 AND ${range} ON CONFLICT (tbl, pk) DO UPDATE SET clocks = json_patch(clocks, excluded.clocks)`,
  ];
}

/**
 * Enqueues every existing row of every synced table (call inside the transaction that turns
 * capture on), `epochRows` rows per epoch, each epoch closed before the next; facts already
 * enqueued ahead (enqueueFactsAhead) are continued from where that stopped. Everything is
 * INSERT … SELECT in key order, a key range at a time: no row passes through JavaScript and
 * nothing is sorted in a temporary b-tree, so memory does not grow with the tables. Returns how
 * many outbox rows it added.
 */
export function enqueueSnapshot(sqlite: Database, epochRows = SNAPSHOT_EPOCH_ROWS): number {
  let added = 0;
  for (const spec of [...MUTABLE_TABLES, ...FACT_TABLES]) {
    let after = spec.fact ? aheadMark(sqlite, spec) : undefined;
    for (;;) {
      const through = chunkEnd(sqlite, spec, after, epochRows);
      added += enqueueRange(sqlite, spec, after, through);
      if (!through) break;
      after = through;
    }
    if (spec.fact) setAheadMark(sqlite, spec, undefined);
  }
  return added;
}

/** The key of the row `rows` on from `after` along the primary key's index (undefined: fewer left). */
function chunkEnd(sqlite: Database, spec: TableSpec, after: Key | undefined, rows: number): Key | undefined {
  const cols = spec.pk.map((c) => `r.${c}`).join(', ');
  return sqlite
    .prepare(
      `SELECT ${spec.pk.map((c) => `r.${c} AS ${c}`).join(', ')} FROM ${spec.name} r WHERE ${keyRange(spec, after, undefined)} ORDER BY ${cols} LIMIT 1 OFFSET @skip`,
    )
    .get({ ...params(spec, after, undefined), skip: rows - 1 }) as Key | undefined;
}

/** Enqueues the rows of (after, through] as one epoch, then closes it; returns how many. */
function enqueueRange(sqlite: Database, spec: TableSpec, after: Key | undefined, through: Key | undefined): number {
  let n = 0;
  for (const [i, sql] of enqueueSql(spec, keyRange(spec, after, through)).entries()) {
    const changes = sqlite.prepare(sql).run(params(spec, after, through)).changes;
    if (i === 0) n = changes;
  }
  if (n > 0) sqlite.prepare('UPDATE sync_state SET epoch = epoch + 1 WHERE id = 1').run();
  return n;
}

/** How far the facts of a table were enqueued ahead of turning capture on (sync_meta). */
function aheadMark(sqlite: Database, spec: TableSpec): Key | undefined {
  const v = (sqlite.prepare('SELECT value FROM sync_meta WHERE key = ?').get(`snapshot_ahead:${spec.name}`) as { value: string } | undefined)?.value;
  return v === undefined ? undefined : (JSON.parse(v) as Key);
}

function setAheadMark(sqlite: Database, spec: TableSpec, key: Key | undefined): void {
  if (key === undefined) sqlite.prepare('DELETE FROM sync_meta WHERE key = ?').run(`snapshot_ahead:${spec.name}`);
  else
    sqlite
      .prepare('INSERT INTO sync_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(`snapshot_ahead:${spec.name}`, JSON.stringify(key));
}

/**
 * Rows per transaction of the snapshot's facts enqueued ahead: ~35 ms of the event loop each
 * (5M readings took 35.6 s in one transaction, ~7 µs a row, on a loaded 2-core box), so the API
 * answers while a large history is enqueued.
 */
export const AHEAD_ROWS = 5_000;

/**
 * Enqueues the next `rows` facts of `spec` in a transaction of its own, before capture is on,
 * as one closed epoch, and records how far it got; returns how many (0: capture is on, or fewer
 * than `rows` are left, which the transaction turning capture on takes). Correct because facts
 * are never changed, a new one gets a larger id than every existing one (the site's id
 * allocator), and without capture retention may delete a row not yet enqueued exactly as it
 * would without sync (it never deletes one with an outbox row, and events stay immutable).
 */
export function enqueueFactsAhead(sqlite: Database, spec: TableSpec, rows = AHEAD_ROWS): number {
  return localTransaction(sqlite, () => {
    const on = (sqlite.prepare('SELECT capture FROM sync_state WHERE id = 1').get() as { capture: number }).capture;
    if (on === 1) return 0;
    const after = aheadMark(sqlite, spec);
    const through = chunkEnd(sqlite, spec, after, rows);
    if (!through) return 0;
    const n = enqueueRange(sqlite, spec, after, through);
    setAheadMark(sqlite, spec, through);
    return n;
  });
}
