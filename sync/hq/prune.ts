import type pg from 'pg';

/** What one pruning run removed from sync_change_log. */
export interface PruneResult {
  /** Entries their site had pulled. */
  pulled: number;
  /** Entries older than the horizon that their site had not pulled (it re-reads its rows). */
  expired: number;
}

/**
 * Prunes HQ's change log through gw_prune_change_log (migration 0003), the same function an HQ
 * cron or pg_cron job calls without our code.
 */
export async function pruneChangeLog(pool: pg.Pool, horizonDays: number): Promise<PruneResult> {
  if (!Number.isInteger(horizonDays) || horizonDays < 1) throw new Error('horizon: must be a whole number of days, at least 1');
  const res = await pool.query<{ pulled: number; expired: number }>('SELECT pulled, expired FROM gw_prune_change_log(make_interval(days => $1))', [
    horizonDays,
  ]);
  const row = res.rows[0];
  return { pulled: Number(row?.pulled ?? 0), expired: Number(row?.expired ?? 0) };
}
