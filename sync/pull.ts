import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { createEventRows } from '../src/db/event-rows.ts';
import { createIdAllocator } from '../src/db/ids.ts';
import type { ShopEvent } from '../src/events/bus.ts';
import { lockRows } from './hq-apply.ts';
import { mergeRow, type Versioned } from './merge.ts';
import { getMeta, observeClock, setMeta } from './state.ts';
import { DELETED, MUTABLE_TABLES, parseKey, type TableSpec, tableSpec } from './tables.ts';

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
}

export interface PullResult {
  rows: number;
  more: boolean;
}

interface LogEntry {
  xid: string;
  log_id: number;
  tbl: string;
  pk: string;
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

function localVersion(sqlite: Database, spec: TableSpec, key: string): Versioned | undefined {
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
function writeLocal(sqlite: Database, spec: TableSpec, key: string, existed: boolean, merged: Versioned, won: string[]): void {
  const pkv = parseKey(spec, key);
  const where = spec.pk.map((c) => `${c} = ?`).join(' AND ');
  const pkArgs = spec.pk.map((c) => pkv[c]);
  if (merged.values[DELETED] === 1) {
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
  const cursorXid = getMeta(sqlite, 'pull_xid') ?? '0';
  const cursorLog = Number(getMeta(sqlite, 'pull_log_id') ?? '0');
  const client = await pool.connect();
  let entries: LogEntry[];
  let rows: HqRows;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const res = await client.query<LogEntry>(
      `SELECT xid::text AS xid, log_id, tbl, pk FROM sync_change_log
        WHERE site_id = $1 AND xid < pg_snapshot_xmin(pg_current_snapshot()) AND (xid, log_id) > ($2::xid8, $3::bigint)
        ORDER BY xid, log_id LIMIT $4`,
      [site, cursorXid, cursorLog, pageSize],
    );
    entries = res.rows;
    rows = entries.length > 0 ? await fetchRows(client, sqlite, entries) : new Map();
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  const last = entries.at(-1);
  if (!last) {
    setMeta(sqlite, 'last_pull_at', deps.now());
    return { rows: 0, more: false };
  }
  await deps.hook?.('mid-pull');
  const applied: Array<{ tbl: string; pk: string; won: string[] }> = [];
  let events: ShopEvent[] = [];
  const at = deps.now();
  sqlite
    .transaction(() => {
      sqlite.prepare('UPDATE sync_state SET applying = 1 WHERE id = 1').run();
      const reject = sqlite.prepare("INSERT INTO sync_rejected (direction, tbl, pk, data, reason, at) VALUES ('pull', ?, ?, ?, ?, ?)");
      let maxClock = '';
      for (const spec of MUTABLE_TABLES) {
        for (const [key, incoming] of rows.get(spec.name) ?? []) {
          for (const c of Object.values(incoming.clocks)) if (c > maxClock) maxClock = c;
          const current = localVersion(sqlite, spec, key);
          const { merged, won } = mergeRow(spec, current, incoming);
          if (won.length === 0) continue;
          try {
            sqlite.transaction(() => writeLocal(sqlite, spec, key, current?.values[DELETED] === 0, merged, won))();
            applied.push({ tbl: spec.name, pk: key, won });
          } catch (err) {
            reject.run(spec.name, key, JSON.stringify(incoming.values), (err as Error).message, at);
          }
        }
      }
      observeClock(sqlite, maxClock);
      sqlite.prepare('UPDATE sync_state SET applying = 0 WHERE id = 1').run();
      events = writeEvents(sqlite, site, at, applied);
      setMeta(sqlite, 'pull_xid', last.xid);
      setMeta(sqlite, 'pull_log_id', last.log_id);
      setMeta(sqlite, 'last_pull_at', at);
    })
    .immediate();
  // Like a local command's events: on the bus only once committed (MQTT, the console's SSE).
  for (const e of events) deps.publish?.(e);
  return { rows: entries.length, more: entries.length === pageSize };
}

/**
 * One event row per pulled change of a work order, stage, issue or machine, written like a local
 * command's (then pushed as facts). Returns them for publishing once the pull's transaction commits.
 */
function writeEvents(sqlite: Database, site: number, at: number, applied: Array<{ tbl: string; pk: string; won: string[] }>): ShopEvent[] {
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
