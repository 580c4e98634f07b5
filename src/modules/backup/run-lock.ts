import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { DatabaseOpenError, databaseOpenError } from '../../db/open-error.ts';

/** Thrown when another process (a running gateway, a restore) holds the database's run lock. */
export class GatewayRunningError extends DatabaseOpenError {
  override name = 'GatewayRunningError';
  constructor(
    databasePath: string,
    readonly lockFile: string,
  ) {
    super(databasePath, `a gateway (or a restore) is running on it (its lock ${lockFile} is held)`);
  }
}

/** The lock file beside the database: `<DATABASE_PATH>.run-lock`. */
export function runLockPath(databasePath: string): string {
  return `${databasePath}.run-lock`;
}

/** An exclusive hold on a database's run lock, released by `release()` or by the process dying. */
export interface RunLock {
  release(): void;
}

/**
 * Takes the run lock of a database or throws GatewayRunningError at once.
 *
 * The lock is an SQLite file kept open in `locking_mode=EXCLUSIVE` after one write, so the
 * holder owns an exclusive POSIX lock on it. The kernel drops that lock when the process ends
 * for any reason, SIGKILL and power loss included, so a crashed gateway never leaves a stale
 * lock behind (unlike a pid file, and pid reuse or a container's pid namespace cannot fool it).
 */
export function acquireRunLock(databasePath: string): RunLock {
  const file = runLockPath(databasePath);
  let db: Sqlite.Database;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // timeout 0: a held lock answers SQLITE_BUSY immediately instead of waiting.
    db = new Sqlite(file, { timeout: 0 });
  } catch (err) {
    // The lock file lives beside the database: what keeps it from opening keeps the database too.
    throw databaseOpenError(databasePath, err);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)');
    db.transaction(() => {
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, Date.now());
    }).exclusive();
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new GatewayRunningError(databasePath, file);
    }
    throw databaseOpenError(databasePath, err);
  }
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}
