import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { getMeta, setMeta } from './state.ts';

/**
 * Pull lag. The pull reads only log entries below the oldest transaction still running anywhere
 * on the HQ cluster (pg_snapshot_xmin), so one open writing transaction, even in another
 * database, holds every site's pull back while the pull itself succeeds. Each pull therefore
 * counts, in its own snapshot, this site's committed entries at or past that horizon, and the
 * edge remembers since when there have been some: the pull has not passed every change HQ
 * committed for it since then.
 */

/** The session holding HQ's horizon, as far as the site's role may see it (pg_stat_activity). */
export interface HorizonHolder {
  database: string | null;
  user: string | null;
  application: string | null;
  state: string | null;
  xact_start: string | null;
}

/** What one pull saw of HQ's horizon, in the pull's own snapshot. */
export interface PullHorizon {
  /** Oldest running xid on the cluster (the pull's horizon) and the next xid. */
  xmin: string;
  xmax: string;
  /** This site's committed log entries at or past the horizon: the pull cannot pass them yet. */
  held: number;
  holder: HorizonHolder | null;
  /** HQ's clock_timestamp() in ms, and the edge's wall clock halfway through that round trip. */
  hqMs: number;
  localMs: number;
  roundTripMs: number;
}

/** Pull lag as GET /sync/status shows it, as of the last pull. */
export interface PullLag {
  /** HQ changes for this site, committed, that the pull cannot pass yet. */
  held_changes: number;
  /** The first pull that found such changes, in a run of pulls that all did; null when none. */
  held_since: string | null;
  /** Seconds from held_since to the last pull (0 when nothing is held). */
  lag_s: number;
  /** The pull's horizon (oldest running xid on the HQ cluster) and how many xids it trails the next one. */
  horizon_xid: string;
  xids_behind: number;
  /** The transaction at the horizon, when the site's role may see it; null otherwise. */
  held_by: HorizonHolder | null;
}

const HORIZON_SQL = `SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax,
  (SELECT count(*) FROM sync_change_log WHERE site_id = $1 AND xid >= pg_snapshot_xmin(s))::integer AS held,
  (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS hq_ms
FROM pg_current_snapshot() s`;

// The xmin of a snapshot is a running transaction's xid: a session's, or a prepared transaction's.
const HOLDER_SQL = `SELECT datname AS database, usename AS "user", application_name AS application, state, xact_start
  FROM pg_stat_activity WHERE backend_xid = xid($1::xid8)
UNION ALL
SELECT database, owner, NULL, 'prepared (' || gid || ')', prepared FROM pg_prepared_xacts WHERE transaction = xid($1::xid8)
LIMIT 1`;

/** Reads the horizon in the pull's snapshot (call it inside the pull's transaction), and HQ's clock against `wallMs`. */
export async function readHorizon(client: pg.ClientBase, site: number, wallMs: () => number): Promise<PullHorizon> {
  const before = wallMs();
  const row = (await client.query<{ xmin: string; xmax: string; held: number; hq_ms: number }>(HORIZON_SQL, [site])).rows[0];
  const after = wallMs();
  if (!row) throw new Error('pg_current_snapshot() returned no row');
  let holder: HorizonHolder | null = null;
  if (row.held > 0) {
    const h = (await client.query<Omit<HorizonHolder, 'xact_start'> & { xact_start: Date | null }>(HOLDER_SQL, [row.xmin])).rows[0];
    if (h) holder = { ...h, xact_start: h.xact_start ? h.xact_start.toISOString() : null };
  }
  return { xmin: row.xmin, xmax: row.xmax, held: row.held, holder, hqMs: row.hq_ms, localMs: (before + after) / 2, roundTripMs: after - before };
}

/** Stores what status shows; held_since survives from pull to pull while changes stay held. */
export function recordPullLag(sqlite: Database, h: PullHorizon, now: number): PullLag {
  const before = readPullLag(sqlite);
  const since = h.held === 0 ? null : before?.held_since ? Date.parse(before.held_since) : now;
  const lag: PullLag = {
    held_changes: h.held,
    held_since: since === null ? null : new Date(since).toISOString(),
    lag_s: since === null ? 0 : Math.max(0, (now - since) / 1000),
    horizon_xid: h.xmin,
    xids_behind: Number(BigInt(h.xmax) - BigInt(h.xmin)),
    held_by: h.holder,
  };
  setMeta(sqlite, 'pull_lag', JSON.stringify(lag));
  return lag;
}

export function readPullLag(sqlite: Database): PullLag | null {
  const text = getMeta(sqlite, 'pull_lag');
  return text ? (JSON.parse(text) as PullLag) : null;
}
