import type { Database } from 'better-sqlite3';
import type { Clock } from '../../clock.ts';
import type { SessionCache, SessionRow } from '../../context.ts';

const MAX = 10_000;
export const DATA_VERSION_CHECK_MS = 100;

/**
 * Caches session lookups (every authenticated request makes one) without weakening revocation:
 * temporary triggers on this connection clear the cache on any UPDATE or DELETE of users or
 * sessions, so logout, deactivation, role and password changes made through the gateway act on
 * the very next request. A commit by another connection (an operator's sqlite3 session) is
 * noticed through `PRAGMA data_version`, checked at most every DATA_VERSION_CHECK_MS because the
 * pragma costs as much as the lookup it saves (by the injected clock; a clock that steps back
 * checks at once). Built once at start-up: it installs a SQL function and TEMP triggers on the
 * connection.
 */
export function createSessionCache(sqlite: Database, clock: Clock): SessionCache {
  const rows = new Map<string, SessionRow>();
  sqlite.function('gw_auth_changed', { deterministic: false }, () => {
    rows.clear();
    return null;
  });
  for (const table of ['users', 'sessions']) {
    for (const op of ['UPDATE', 'DELETE']) {
      sqlite.exec(`CREATE TEMP TRIGGER IF NOT EXISTS gw_${table}_${op.toLowerCase()}_auth AFTER ${op} ON main.${table} BEGIN SELECT gw_auth_changed(); END`);
    }
  }
  const lookup = sqlite.prepare<[string], SessionRow>(
    'SELECT u.id, u.username, u.role, u.active, u.created_at, s.revoked_at, s.expires_at, s.station_id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?',
  );
  const versionStmt = sqlite.prepare<[], { data_version: number }>('PRAGMA data_version');
  const dataVersion = () => versionStmt.get()?.data_version;
  let version = dataVersion();
  let checkedAt = clock.now();
  return {
    get(sessionId) {
      const t = clock.now();
      if (t - checkedAt >= DATA_VERSION_CHECK_MS || t < checkedAt) {
        checkedAt = t;
        const now = dataVersion();
        if (now !== version) {
          version = now;
          rows.clear();
        }
      }
      const hit = rows.get(sessionId);
      if (hit) return hit;
      const row = lookup.get(sessionId);
      if (row) {
        if (rows.size >= MAX) rows.clear();
        rows.set(sessionId, row);
      }
      return row;
    },
  };
}
