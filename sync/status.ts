import type { Database } from 'better-sqlite3';
import { backlog } from './outbox.ts';
import { type ClockSkew, readClockSkew } from './clock-skew.ts';
import { type PullLag, readPullLag } from './pull-lag.ts';
import { getMeta } from './state.ts';

/** What GET /sync/status and `npx gateway sync status` print. */
export interface SyncStatus {
  enabled: boolean;
  /** The last cycle reached HQ (null before the first one). */
  online: boolean | null;
  backlog: number;
  oldest_unsynced_at: string | null;
  last_push_at: string | null;
  last_pull_at: string | null;
  last_error: string | null;
  /** HQ changes the pull cannot pass yet (a transaction open on the HQ cluster holds its horizon); null before the first pull. */
  pull_lag: PullLag | null;
  /** The wall clock against the last clock value and HQ's, as of the last cycle; null before one. */
  clock: ClockSkew | null;
  /** The newest 50 rows set aside; `id` is what `gateway sync replay-rejected ID…` takes. */
  rejected: Array<{ id: number; direction: string; table: string; key: string; reason: string; at: string }>;
  /** Every row set aside, counted by direction, table and reason (most frequent first). */
  rejected_counts: RejectedCount[];
}

/** Rows set aside for one (direction, table, reason), with the newest one's time. */
export interface RejectedCount {
  direction: string;
  table: string;
  reason: string;
  count: number;
  last_at: string;
}

const iso = (ms: string | number | null | undefined) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** Reads the status from the database, so every process (server, CLI) reports the same. */
export function readSyncStatus(sqlite: Database, enabled: boolean): SyncStatus {
  const b = backlog(sqlite);
  const online = getMeta(sqlite, 'online');
  const rejected = sqlite.prepare('SELECT id, direction, tbl, pk, reason, at FROM sync_rejected ORDER BY id DESC LIMIT 50').all() as Array<{
    id: number;
    direction: string;
    tbl: string;
    pk: string;
    reason: string;
    at: number;
  }>;
  return {
    enabled,
    online: online === undefined ? null : online === '1',
    backlog: b.count,
    oldest_unsynced_at: iso(b.oldestAt),
    last_push_at: iso(getMeta(sqlite, 'last_push_at')),
    last_pull_at: iso(getMeta(sqlite, 'last_pull_at')),
    last_error: getMeta(sqlite, 'last_error') ?? null,
    pull_lag: readPullLag(sqlite),
    clock: readClockSkew(sqlite),
    rejected: rejected.map((r) => ({ id: r.id, direction: r.direction, table: r.tbl, key: r.pk, reason: r.reason, at: iso(r.at) ?? '' })),
    rejected_counts: rejectedCounts(sqlite),
  };
}

/**
 * sync_rejected holds only refusals of rows (system faults are retried, never recorded), so it
 * stays small: one grouping scan per status call, no index.
 */
function rejectedCounts(sqlite: Database): RejectedCount[] {
  const rows = sqlite
    .prepare(
      'SELECT direction, tbl, reason, count(*) AS n, max(at) AS last_at FROM sync_rejected GROUP BY direction, tbl, reason ORDER BY n DESC, direction, tbl, reason LIMIT 100',
    )
    .all() as Array<{ direction: string; tbl: string; reason: string; n: number; last_at: number }>;
  return rows.map((r) => ({ direction: r.direction, table: r.tbl, reason: r.reason, count: r.n, last_at: iso(r.last_at) ?? '' }));
}
