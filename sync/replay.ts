import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import type { ShopEvent } from '../src/events/bus.ts';
import { compareHlc } from './hlc.ts';
import { lockRows } from './hq-apply.ts';
import { applyFromHq } from './local-tx.ts';
import { mergeRow, type Versioned } from './merge.ts';
import { localVersion, writeEvents, writeLocal } from './pull.ts';
import { DELETED, type TableSpec, TABLES } from './tables.ts';

/** Which set-aside rows to replay: every one, or these sync_rejected ids. */
export type ReplaySelection = 'all' | number[];

export interface ReplayDeps {
  sqlite: Database;
  site: number;
  now: () => number;
  /** HQ, asked only when a pulled row is replayed (its current version is read there). */
  hq: () => pg.Pool;
}

/** A set-aside row that was not replayed, and why; its record stays in sync_rejected. */
export interface ReplayKept {
  direction: string;
  table: string;
  key: string;
  why: string;
}

export interface ReplayResult {
  /** Pushed rows put back in the outbox: the next push sends them. */
  queued: number;
  /** Pulled rows merged into the edge from HQ's current version. */
  applied: number;
  /** Pulled rows HQ no longer holds (deleted for good): nothing to apply, the record is dropped. */
  goneAtHq: number;
  kept: ReplayKept[];
  /** Event rows of applied pulled changes, like a pull's (for the caller to publish). */
  events: ShopEvent[];
}

/** A sync_rejected id that does not exist: nothing was replayed. */
export class UnknownRejectionError extends Error {
  override name = 'UnknownRejectionError';
}

interface Rejected {
  id: number;
  direction: string;
  tbl: string;
  pk: string;
}

/** Records grouped by (direction, table, key): a row refused several times is replayed once. */
function groupRecords(records: Rejected[]): Map<string, { direction: string; spec: TableSpec | undefined; pk: string; ids: number[] }> {
  const groups = new Map<string, { direction: string; spec: TableSpec | undefined; pk: string; ids: number[] }>();
  for (const r of records) {
    const k = `${r.direction}\u0000${r.tbl}\u0000${r.pk}`;
    const g = groups.get(k) ?? { direction: r.direction, spec: TABLES.find((t) => t.name === r.tbl), pk: r.pk, ids: [] };
    g.ids.push(r.id);
    groups.set(k, g);
  }
  return groups;
}

/**
 * Refused rows only: a 'conflict' record (floor work HQ deleted, sync/conflicts.ts) is a copy kept
 * for people, not a change that failed, so there is nothing to replay.
 */
function selectRecords(sqlite: Database, selection: ReplaySelection): Rejected[] {
  const refused = "direction IN ('push', 'pull')";
  if (selection === 'all') return sqlite.prepare(`SELECT id, direction, tbl, pk FROM sync_rejected WHERE ${refused} ORDER BY id`).all() as Rejected[];
  const get = sqlite.prepare(`SELECT id, direction, tbl, pk FROM sync_rejected WHERE id = ? AND ${refused}`);
  const out: Rejected[] = [];
  const unknown: number[] = [];
  for (const id of new Set(selection)) {
    const r = get.get(id) as Rejected | undefined;
    if (r) out.push(r);
    else unknown.push(id);
  }
  if (unknown.length > 0)
    throw new UnknownRejectionError(
      `no refused row set aside with id ${unknown.join(', ')} (ids: GET /sync/status or \`gateway sync status\`, direction push or pull)`,
    );
  return out;
}

/** HQ's current version of each pulled key (tombstones included), read as the site's role. */
async function readHqVersions(pool: pg.Pool, keys: Map<TableSpec, string[]>): Promise<Map<TableSpec, Map<string, Versioned>>> {
  const out = new Map<TableSpec, Map<string, Versioned>>();
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const [spec, pks] of keys) {
      const rows = await lockRows(client, spec, pks, false);
      out.set(spec, new Map([...rows].map(([k, v]) => [k, { values: v.values, clocks: v.clocks }])));
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  return out;
}

/**
 * Puts a pushed row back in the outbox with the edge's current values and their own column clocks,
 * so HQ merges it by the usual rules: a change HQ made since still wins. The first outbox row
 * carries every column under the oldest of their clocks, then one row per newer clock carries its
 * columns again: the push may send those rows in different chunks, and a chunk with part of a row
 * HQ lacks would be refused (not-null), while the whole row first and newer clocks after merge to
 * exactly the row's own clocks. A fact is queued by key; the push reads the row itself. False: the
 * row is gone here.
 */
function enqueuePushed(sqlite: Database, spec: TableSpec, pk: string, at: number): boolean {
  const put = sqlite.prepare('INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) SELECT epoch, ?, ?, ?, ?, ?, ? FROM sync_state WHERE id = 1');
  if (spec.fact) {
    if (sqlite.prepare(`SELECT 1 FROM ${spec.name} WHERE id = ?`).get(Number(pk)) === undefined) return false;
    put.run('', spec.name, pk, 'I', '{}', at);
    return true;
  }
  const local = localVersion(sqlite, spec, pk);
  if (!local) return false;
  const whole: Record<string, unknown> = {};
  const byClock = new Map<string, Record<string, unknown>>();
  for (const [col, value] of Object.entries(local.values)) {
    const clock = local.clocks[col];
    // A column without a clock was never captured; HQ's value for it stands.
    if (!clock) continue;
    whole[col] = value;
    byClock.set(clock, { ...byClock.get(clock), [col]: value });
  }
  const clocks = [...byClock.keys()].sort(compareHlc);
  const oldest = clocks[0];
  if (oldest === undefined) return false;
  const op = whole[DELETED] === 1 ? 'D' : 'U';
  put.run(oldest, spec.name, pk, op, JSON.stringify(whole), at);
  for (const clock of clocks.slice(1)) put.run(clock, spec.name, pk, op, JSON.stringify(byClock.get(clock)), at);
  return true;
}

/**
 * `sync replay-rejected`: gives rows set aside in sync_rejected another go once their cause is
 * fixed, in one SQLite transaction that also drops their records (so each is replayed once).
 * Pushed rows go back in the outbox with their current data; the next push sends them and a
 * renewed refusal sets them aside again. Pulled rows are re-read from HQ and merged now, like a
 * pull; one the edge still refuses keeps its record with the new reason.
 */
export async function replayRejected(deps: ReplayDeps, selection: ReplaySelection): Promise<ReplayResult> {
  const { sqlite } = deps;
  const groups = [...groupRecords(selectRecords(sqlite, selection)).values()];
  const result: ReplayResult = { queued: 0, applied: 0, goneAtHq: 0, kept: [], events: [] };
  if (groups.length === 0) return result;

  const pulledKeys = new Map<TableSpec, string[]>();
  for (const g of groups) {
    if (g.direction === 'pull' && g.spec && !g.spec.fact) pulledKeys.set(g.spec, [...(pulledKeys.get(g.spec) ?? []), g.pk]);
  }
  const hqVersions = pulledKeys.size > 0 ? await readHqVersions(deps.hq(), pulledKeys) : new Map<TableSpec, Map<string, Versioned>>();

  const at = deps.now();
  const capture = sqlite.prepare('SELECT capture FROM sync_state WHERE id = 1');
  const drop = sqlite.prepare('DELETE FROM sync_rejected WHERE id = ?');
  const renew = sqlite.prepare('UPDATE sync_rejected SET reason = ?, at = ? WHERE id = ?');
  const keep = (g: (typeof groups)[number], why: string) => result.kept.push({ direction: g.direction, table: g.spec?.name ?? '?', key: g.pk, why });
  result.events = applyFromHq(
    sqlite,
    (tx) => {
      if ((capture.get() as { capture: number } | undefined)?.capture !== 1) {
        throw new Error('sync has never run on this database: there is no outbox to replay into');
      }
      const applied: Array<{ tbl: string; pk: string; won: string[] }> = [];
      for (const g of groups) {
        const { spec } = g;
        if (!spec) {
          keep(g, 'not a synced table');
          continue;
        }
        if (g.direction === 'push') {
          // Capture is suspended for the pulled rows below, not for the outbox itself.
          if (!enqueuePushed(sqlite, spec, g.pk, at)) {
            keep(g, 'the row is no longer on the edge');
            continue;
          }
          result.queued++;
        } else {
          const incoming = hqVersions.get(spec)?.get(g.pk);
          if (!incoming) {
            result.goneAtHq++;
          } else {
            tx.observe(incoming.clocks);
            const current = localVersion(sqlite, spec, g.pk);
            const { merged, won } = mergeRow(spec, current, incoming);
            // Same rule as the pull: only a refusal of the row itself keeps it set aside.
            const refused = won.length > 0 ? tx.row(() => writeLocal(sqlite, spec, g.pk, current?.values[DELETED] === 0, merged, won)) : undefined;
            if (refused) {
              for (const id of g.ids) renew.run(refused.message, at, id);
              keep(g, refused.message);
              continue;
            }
            if (won.length > 0) applied.push({ tbl: spec.name, pk: g.pk, won });
            result.applied++;
          }
        }
        for (const id of g.ids) drop.run(id);
      }
      return applied;
    },
    (applied) => writeEvents(sqlite, deps.site, at, applied),
  );
  return result;
}
