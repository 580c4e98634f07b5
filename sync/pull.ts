import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { createEventRows } from '../src/db/event-rows.ts';
import { createIdAllocator } from '../src/db/ids.ts';
import type { ShopEvent } from '../src/events/bus.ts';
import { lockRows, versionOf } from './hq-apply.ts';
import { quoteIdent } from './hq/pool.ts';
import { applyFromHq } from './local-tx.ts';
import { deleteLocalChildren, floorWorkDeleted, recordConflict, tombstoneClock } from './conflicts.ts';
import { mergeRow, type Versioned } from './merge.ts';
import { type PullHorizon, type PullLag, readHorizon, recordPullLag } from './pull-lag.ts';
import { observeHqClock, sqliteNowMs } from './clock-skew.ts';
import { getMeta, setMeta } from './state.ts';
import { applyOrder, DELETED, keyOf, MUTABLE_TABLES, parseKey, type TableSpec, tableSpec } from './tables.ts';

export interface PullDeps {
  sqlite: Database;
  pool: pg.Pool;
  site: number;
  now: () => number;
  pageSize?: number;
  /** Fault injection for tests: called after the page was read, before it is saved. */
  hook?: (point: 'mid-pull') => Promise<void> | void;
  /** Publishes the event rows of pulled changes (the in-process bus), after the page committed. */
  publish?: (event: ShopEvent) => void;
  /** Told the pull lag each pull found (the worker's gauges). */
  lag?: (lag: PullLag) => void;
  /** The wall clock compared with HQ's (default: SQLite's, which the capture triggers stamp with). */
  wallMs?: () => number;
}

export interface PullResult {
  rows: number;
  more: boolean;
}

/** A position in HQ's change log: entries are read in (xid, log_id) order. */
interface LogPosition {
  xid: string;
  log_id: number;
}

interface LogEntry extends LogPosition {
  tbl: string;
  pk: string;
}

function isAfter(a: LogPosition, b: LogPosition): boolean {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  return ax !== bx ? ax > bx : a.log_id > b.log_id;
}

function parseMark(text: string | undefined): LogPosition | undefined {
  const m = text ? /^(\d+)\/(\d+)$/.exec(text) : null;
  return m ? { xid: m[1] ?? '0', log_id: Number(m[2]) } : undefined;
}

/**
 * Tells HQ how far this site has pulled (the cursor saved in SQLite), so HQ can prune the log
 * entries it no longer needs. Only when it moved since the last report: one small UPDATE.
 */
async function reportCursor(client: pg.ClientBase, sqlite: Database, site: number, cursor: LogPosition): Promise<void> {
  const position = `${cursor.xid}/${cursor.log_id}`;
  if (getMeta(sqlite, 'pull_reported') === position) return;
  await client.query('UPDATE sync_pull_cursor SET xid = $2::xid8, log_id = $3, reported_at = now() WHERE site_id = $1', [site, cursor.xid, cursor.log_id]);
  setMeta(sqlite, 'pull_reported', position);
}

/** Every row HQ holds for the site (tombstones included), for a re-read after pruning. */
async function readSite(client: pg.ClientBase, site: number): Promise<HqRows> {
  const rows: HqRows = new Map();
  for (const spec of MUTABLE_TABLES) {
    const res = await client.query<{ j: Record<string, unknown> }>(`SELECT to_jsonb(t) AS j FROM ${quoteIdent(spec.name)} t WHERE site_id = $1`, [site]);
    rows.set(
      spec.name,
      new Map(
        res.rows.map(({ j }) => {
          const v = versionOf(spec, j);
          return [keyOf(spec, v.values), v];
        }),
      ),
    );
  }
  return rows;
}

type HqRows = Map<string, Map<string, Versioned>>;

function localExists(sqlite: Database, spec: TableSpec, key: string): boolean {
  const where = spec.pk.map((c) => `${c} = ?`).join(' AND ');
  const vals = spec.pk.map((c) => parseKey(spec, key)[c]);
  return sqlite.prepare(`SELECT 1 FROM ${spec.name} WHERE ${where}`).get(...vals) !== undefined;
}

/** Reads the rows named by the log, plus any parent the edge lacks (a stage's work order, ...). */
async function fetchRows(client: pg.ClientBase, sqlite: Database, entries: LogEntry[]): Promise<HqRows> {
  const rows: HqRows = new Map();
  let wanted = new Map<string, Set<string>>();
  for (const e of entries) {
    if (!wanted.has(e.tbl)) wanted.set(e.tbl, new Set());
    wanted.get(e.tbl)?.add(e.pk);
  }
  for (let round = 0; round < 4 && wanted.size > 0; round++) {
    const next = new Map<string, Set<string>>();
    for (const [tbl, keys] of wanted) {
      const spec = tableSpec(tbl);
      const got = await lockRows(client, spec, [...keys], false);
      const have = rows.get(tbl) ?? new Map<string, Versioned>();
      for (const [k, v] of got) have.set(k, { values: v.values, clocks: v.clocks });
      rows.set(tbl, have);
      for (const v of got.values()) {
        for (const p of spec.parents ?? []) {
          const pk = String(v.values[p.col]);
          const pspec = tableSpec(p.table);
          if (rows.get(p.table)?.has(pk) || localExists(sqlite, pspec, pk)) continue;
          if (!next.has(p.table)) next.set(p.table, new Set());
          next.get(p.table)?.add(pk);
        }
      }
    }
    wanted = next;
  }
  return rows;
}

/** The edge's row with its column clocks; a deleted row is a tombstone with its clock. */
export function localVersion(sqlite: Database, spec: TableSpec, key: string): Versioned | undefined {
  const clockRow = sqlite.prepare('SELECT clocks FROM sync_clock WHERE tbl = ? AND pk = ?').get(spec.name, key) as { clocks: string } | undefined;
  const clocks = clockRow ? (JSON.parse(clockRow.clocks) as Record<string, string>) : {};
  const where = spec.pk.map((c) => `${c} = ?`).join(' AND ');
  const pkv = parseKey(spec, key);
  const row = sqlite.prepare(`SELECT ${Object.keys(spec.cols).join(', ')} FROM ${spec.name} WHERE ${where}`).get(...spec.pk.map((c) => pkv[c])) as
    | Record<string, unknown>
    | undefined;
  if (row) return { values: { ...row, [DELETED]: 0 }, clocks };
  if (clockRow) return { values: { [DELETED]: 1 }, clocks: { [DELETED]: clocks[DELETED] ?? '' } };
  return undefined;
}

/** Writes the merged row: delete on a winning tombstone, else update the won columns or insert. */
export function writeLocal(sqlite: Database, spec: TableSpec, key: string, existed: boolean, merged: Versioned, won: string[]): void {
  const pkv = parseKey(spec, key);
  const where = spec.pk.map((c) => `${c} = ?`).join(' AND ');
  const pkArgs = spec.pk.map((c) => pkv[c]);
  if (merged.values[DELETED] === 1) {
    // A user's sessions and badge are the edge's own (never synced) and hold a foreign key to the
    // user: a user HQ deleted is signed out here and loses the badge, then is deleted.
    if (existed && spec.name === 'users') {
      sqlite.prepare('DELETE FROM sessions WHERE user_id = ?').run(pkv.id as never);
      sqlite.prepare('DELETE FROM user_badges WHERE user_id = ?').run(pkv.id as never);
    }
    if (existed) sqlite.prepare(`DELETE FROM ${spec.name} WHERE ${where}`).run(...pkArgs);
  } else if (existed) {
    const cols = won.filter((c) => c in spec.cols && !spec.pk.includes(c));
    if (cols.length > 0) {
      sqlite
        .prepare(`UPDATE ${spec.name} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE ${where}`)
        .run(...cols.map((c) => merged.values[c] as never), ...pkArgs);
    }
  } else {
    const cols = Object.keys(spec.cols);
    sqlite
      .prepare(`INSERT INTO ${spec.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
      .run(...cols.map((c) => (merged.values[c] ?? null) as never));
  }
  sqlite
    .prepare('INSERT INTO sync_clock (tbl, pk, clocks) VALUES (?, ?, ?) ON CONFLICT (tbl, pk) DO UPDATE SET clocks = excluded.clocks')
    .run(spec.name, key, JSON.stringify(merged.clocks));
}

const EVENT_ENTITY: Record<string, 'work_order' | 'stage' | 'issue' | 'machine'> = {
  work_orders: 'work_order',
  work_order_stages: 'stage',
  issues: 'issue',
  machines: 'machine',
};

/**
 * Pulls one page of this site's HQ changes: log entries below the oldest running HQ
 * transaction (pg_snapshot_xmin), ordered by (xid, log_id), so an entry whose transaction
 * commits late is still ahead of the cursor. The page, its event rows and the cursor are saved
 * in one SQLite transaction, with capture suspended so nothing echoes back to HQ.
 */
export async function pullOnce(deps: PullDeps): Promise<PullResult> {
  const { sqlite, pool, site } = deps;
  const pageSize = deps.pageSize ?? 1000;
  const cursor: LogPosition = { xid: getMeta(sqlite, 'pull_xid') ?? '0', log_id: Number(getMeta(sqlite, 'pull_log_id') ?? '0') };
  const client = await pool.connect();
  let rows: HqRows;
  let count: number;
  let next: LogPosition | undefined;
  let resynced: LogPosition | undefined;
  let horizon: PullHorizon | undefined;
  try {
    await reportCursor(client, sqlite, site, cursor);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    horizon = await readHorizon(client, site, deps.wallMs ?? (() => sqliteNowMs(sqlite)));
    const mark = (await client.query<LogPosition>('SELECT pruned_xid::text AS xid, pruned_log_id AS log_id FROM sync_pull_cursor WHERE site_id = $1', [site]))
      .rows[0];
    const handled = parseMark(getMeta(sqlite, 'pull_pruned_mark'));
    if (mark && isAfter(mark, cursor) && (!handled || isAfter(mark, handled))) {
      // HQ pruned log entries this site had not pulled (it was away longer than the horizon).
      const xmin = (await client.query<{ x: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x')).rows[0]?.x ?? '0';
      rows = await readSite(client, site);
      count = [...rows.values()].reduce((n, t) => n + t.size, 0);
      // Every transaction below xmin is in this snapshot; later log entries are pulled as usual.
      const atSnapshot = { xid: xmin, log_id: 0 };
      next = isAfter(atSnapshot, cursor) ? atSnapshot : cursor;
      resynced = mark;
    } else {
      const res = await client.query<LogEntry>(
        `SELECT xid::text AS xid, log_id, tbl, pk FROM sync_change_log
          WHERE site_id = $1 AND xid < pg_snapshot_xmin(pg_current_snapshot()) AND (xid, log_id) > ($2::xid8, $3::bigint)
          ORDER BY xid, log_id LIMIT $4`,
        [site, cursor.xid, cursor.log_id, pageSize],
      );
      const entries = res.rows;
      const last = entries.at(-1);
      if (last && entries.length === pageSize) {
        // A page ends at an HQ transaction's end: the rest of the last transaction's entries
        // come with it, so the edge applies each HQ transaction whole, in one SQLite
        // transaction (a work order and its 1,500 stages arrived as 991 rows, then the rest).
        // Such a page is held in memory whole: HQ writes large transactions rarely.
        const rest = await client.query<LogEntry>(
          `SELECT xid::text AS xid, log_id, tbl, pk FROM sync_change_log
            WHERE site_id = $1 AND xid = $2::xid8 AND log_id > $3 ORDER BY log_id`,
          [site, last.xid, last.log_id],
        );
        entries.push(...rest.rows);
      }
      rows = entries.length > 0 ? await fetchRows(client, sqlite, entries) : new Map();
      count = entries.length;
      next = entries.at(-1);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  if (horizon) {
    deps.lag?.(recordPullLag(sqlite, horizon, deps.now()));
    observeHqClock(sqlite, horizon);
  }
  const last = next;
  if (!last || count === 0) {
    setMeta(sqlite, 'last_pull_at', deps.now());
    if (resynced) setMeta(sqlite, 'pull_pruned_mark', `${resynced.xid}/${resynced.log_id}`);
    return { rows: 0, more: false };
  }
  await deps.hook?.('mid-pull');
  const at = deps.now();
  const events = applyFromHq(
    sqlite,
    (tx) => {
      const reject = sqlite.prepare("INSERT INTO sync_rejected (direction, tbl, pk, data, reason, at) VALUES ('pull', ?, ?, ?, ?, ?)");
      const applied: Array<{ tbl: string; pk: string; won: string[] }> = [];
      // Live rows parents first, then tombstones children first (applyOrder).
      for (const { spec, rows: phase } of applyOrder(rows)) {
        for (const [key, incoming] of phase) {
          tx.observe(incoming.clocks);
          const current = localVersion(sqlite, spec, key);
          const { merged, won } = mergeRow(spec, current, incoming);
          if (won.length === 0) continue;
          // Only a refusal of the row itself sets it aside (sync/local-refusal.ts). A full disk,
          // an I/O error or a missing column is the edge's condition, not a verdict on the row:
          // the whole page rolls back and is pulled again (the cursor has not moved).
          const refused = tx.row(() => {
            if (merged.values[DELETED] === 1 && current?.values[DELETED] === 0)
              deleteLocalChildren(sqlite, spec, key, { site, at, versionOf: (s, k) => localVersion(sqlite, s, k) });
            writeLocal(sqlite, spec, key, current?.values[DELETED] === 0, merged, won);
          });
          if (refused) {
            reject.run(spec.name, key, JSON.stringify(incoming.values), refused.message, at);
            continue;
          }
          if (floorWorkDeleted(spec, site, current, merged)) recordConflict(sqlite, spec, key, current, tombstoneClock(merged), at);
          applied.push({ tbl: spec.name, pk: key, won });
        }
      }
      return applied;
    },
    (applied) => {
      const written = writeEvents(sqlite, site, at, applied);
      setMeta(sqlite, 'pull_xid', last.xid);
      setMeta(sqlite, 'pull_log_id', last.log_id);
      if (resynced) setMeta(sqlite, 'pull_pruned_mark', `${resynced.xid}/${resynced.log_id}`);
      setMeta(sqlite, 'last_pull_at', at);
      return written;
    },
  );
  // Like a local command's events: on the bus only once committed (MQTT, the console's SSE).
  for (const e of events) deps.publish?.(e);
  return { rows: count, more: resynced !== undefined || count >= pageSize };
}

/**
 * One event row per pulled change of a work order, stage, issue or machine, written like a local
 * command's (then pushed as facts). Returns them for publishing once the pull's transaction commits.
 */
export function writeEvents(sqlite: Database, site: number, at: number, applied: Array<{ tbl: string; pk: string; won: string[] }>): ShopEvent[] {
  const append = createEventRows(sqlite, createIdAllocator(sqlite, site), () => at);
  const out: ShopEvent[] = [];
  for (const a of applied) {
    const entity = EVENT_ENTITY[a.tbl];
    if (!entity) continue;
    const id = Number(a.pk);
    const wo =
      a.tbl === 'work_orders'
        ? id
        : a.tbl === 'work_order_stages'
          ? ((sqlite.prepare('SELECT work_order_id AS w FROM work_order_stages WHERE id = ?').get(id) as { w: number } | undefined)?.w ?? null)
          : null;
    const status = a.won.includes('status')
      ? ((sqlite.prepare(`SELECT status FROM ${a.tbl} WHERE id = ?`).get(id) as { status: string } | undefined)?.status ?? null)
      : null;
    out.push(
      append({
        kind: `${entity}.synced`,
        entityType: entity,
        entityId: id,
        workOrderId: wo,
        toStatus: status,
        data: { source: 'hq', columns: a.won.filter((c) => c !== DELETED) },
      }),
    );
  }
  return out;
}
