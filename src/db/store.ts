import type { Database } from 'better-sqlite3';
import { storageError } from '../errors.ts';
import { type Db, type OpenOptions, openSqlite, runMigrations, wrapDrizzle } from './connection.ts';
import { createGroupCommit } from './group-commit.ts';
import { createIdAllocator, type IdAllocator } from './ids.ts';

/** The gateway's handle on its SQLite database. */
export interface Store {
  sqlite: Database;
  db: Db;
  ids: IdAllocator;
  /** Runs fn in one IMMEDIATE transaction; storage faults surface as AppError UNAVAILABLE. */
  write<T>(fn: () => T): T;
  /** Runs a read; storage faults surface as AppError UNAVAILABLE. */
  read<T>(fn: () => T): T;
  /** Runs a synchronous command with group commit; resolves once it is durable. */
  command<T>(fn: () => T): Promise<T>;
  /** Defers f until the enclosing command has committed (events go out only after commit). */
  afterCommit(f: () => void): void;
  close(): void;
}

/** Opens the database, applies migrations and pins the site id the file was created for. */
export function openStore(file: string, siteId: number, opts: OpenOptions = {}): Store {
  const sqlite = openSqlite(file, opts);
  const db = wrapDrizzle(sqlite);
  try {
    runMigrations(db);
    pinSiteId(sqlite, siteId);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const ids = createIdAllocator(sqlite, siteId);
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw storageError(err) ?? err;
    }
  };
  const group = createGroupCommit(sqlite, opts.onHookError ?? (() => {}));
  return {
    sqlite,
    db,
    ids,
    write: (fn) => guard(() => sqlite.transaction(fn).immediate()),
    read: guard,
    command: group.command,
    afterCommit: group.afterCommit,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/** A database holds one site's ids; reusing it under another SITE_ID would break uniqueness. */
function pinSiteId(sqlite: Database, siteId: number): void {
  const row = sqlite.prepare("SELECT value FROM gateway_meta WHERE key = 'site_id'").get() as { value: string } | undefined;
  if (!row) {
    sqlite.prepare("INSERT INTO gateway_meta (key, value) VALUES ('site_id', ?)").run(String(siteId));
    return;
  }
  if (Number(row.value) !== siteId) {
    throw new Error(`SITE_ID: this database belongs to site ${row.value}, not ${siteId}; use the right SITE_ID or another DATABASE_PATH`);
  }
}
