import type { Database } from 'better-sqlite3';
import { backlog } from './outbox.ts';
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
  rejected: Array<{ direction: string; table: string; key: string; reason: string; at: string }>;
}

const iso = (ms: string | number | null | undefined) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

/** Reads the status from the database, so every process (server, CLI) reports the same. */
export function readSyncStatus(sqlite: Database, enabled: boolean): SyncStatus {
  const b = backlog(sqlite);
  const online = getMeta(sqlite, 'online');
  const rejected = sqlite.prepare('SELECT direction, tbl, pk, reason, at FROM sync_rejected ORDER BY id DESC LIMIT 50').all() as Array<{
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
    rejected: rejected.map((r) => ({ direction: r.direction, table: r.tbl, key: r.pk, reason: r.reason, at: iso(r.at) ?? '' })),
  };
}
