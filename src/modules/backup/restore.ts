import { existsSync } from 'node:fs';
import path from 'node:path';
import { MIGRATION_COUNT } from '../../db/migrations-count.ts';
import { backupDatabase, checkIntegrity, OpsError, openExisting, siteIdOf } from './backup.ts';
import { acquireRunLock, GatewayRunningError } from './run-lock.ts';

const ALL_PAGES = 0x7fffffff;

export interface RestoreResult {
  /** Where the database as it was before the restore was kept (undefined when there was none). */
  previous: string | undefined;
}

function appliedMigrations(db: ReturnType<typeof openExisting>): number {
  try {
    return (db.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
  } catch {
    return 0;
  }
}

/** Everything checked on the backup before anything is touched. */
function inspectBackup(from: string, siteId: number): void {
  const db = openExisting(from, true);
  try {
    checkIntegrity(db, from);
    const site = siteIdOf(db);
    if (site === undefined) throw new OpsError(`${from} is not a gateway database (no site id in gateway_meta)`);
    if (Number(site) !== siteId) throw new OpsError(`${from} belongs to site ${site}, not to this site (SITE_ID ${siteId}); refusing a foreign site's data`);
    if (appliedMigrations(db) > MIGRATION_COUNT)
      throw new OpsError(`${from} was written by a newer gateway build (more migrations than this one ships); upgrade first`);
  } finally {
    db.close();
  }
}

/**
 * Replaces the database with a backup. Refuses while a gateway holds the run lock, and holds that
 * lock itself so no gateway starts half-way. The current database is first saved beside itself
 * (`<name>.before-restore-<time>`), then the backup is copied in through SQLite's backup API,
 * which writes through the destination's own journal: a crash mid-way leaves the old database,
 * never a mix, and a stale -wal can never be replayed onto the new pages.
 */
export async function restoreDatabase(databasePath: string, siteId: number, from: string): Promise<RestoreResult> {
  if (path.resolve(from) === path.resolve(databasePath)) throw new OpsError('the backup file is the database itself');
  inspectBackup(from, siteId);
  let lock: ReturnType<typeof acquireRunLock>;
  try {
    lock = acquireRunLock(databasePath);
  } catch (err) {
    if (err instanceof GatewayRunningError) {
      throw new OpsError(
        `a gateway (or a restore) is running on ${databasePath}: its lock ${err.lockFile} is held; stop it first (systemctl stop edge-gateway / docker compose stop gateway)`,
      );
    }
    throw err;
  }
  try {
    let previous: string | undefined;
    if (existsSync(databasePath)) {
      const current = openExisting(databasePath, true);
      const currentSite = siteIdOf(current);
      current.close();
      if (currentSite !== undefined && Number(currentSite) !== siteId) {
        throw new OpsError(`${databasePath} belongs to site ${currentSite}, not ${siteId}; check SITE_ID and DATABASE_PATH`);
      }
      previous = `${databasePath}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await backupDatabase(databasePath, previous);
    }
    const src = openExisting(from, true);
    try {
      await src.backup(databasePath, { progress: () => ALL_PAGES });
    } finally {
      src.close();
    }
    const restored = openExisting(databasePath);
    try {
      restored.pragma('journal_mode = WAL');
      restored.pragma('wal_checkpoint(TRUNCATE)');
      checkIntegrity(restored, 'the restored database');
    } finally {
      restored.close();
    }
    return { previous };
  } finally {
    lock.release();
  }
}
