import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Sqlite, { type Database } from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PACKAGE_ROOT } from '../lib/package-root.ts';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema>;

export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'migrations', 'sqlite');

/**
 * Opens the SQLite file with the gateway's pragmas: WAL, synchronous=FULL so an acknowledged
 * commit survives a power cut, and busy_timeout=0 because better-sqlite3 would wait for a lock by
 * blocking the event loop; the command path waits asynchronously instead (command.ts).
 */
export function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 0');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('temp_store = MEMORY');
  sqlite.pragma('cache_size = -16000');
  return sqlite;
}

/**
 * The connection as drizzle sees it: the same database, but prepared statements are reused by
 * SQL text. drizzle prepares a statement for every query, and preparing costs more than running
 * a simple indexed lookup. Only drizzle goes through this cache, because drizzle switches a
 * statement into raw mode per call and resets nothing; statements come back in default mode.
 * Hand-written statements (`sqlite.prepare`) are never shared with it.
 */
export function cachingClient(sqlite: Database, max = 500): Database {
  const cache = new Map<string, ReturnType<Database['prepare']>>();
  const prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = sqlite.prepare(source);
      if (cache.size >= max) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
    }
    cache.set(source, stmt);
    if (stmt.reader) stmt.raw(false);
    return stmt;
  }) as Database['prepare'];
  // Everything else (transaction, pragma, native handle) falls through to the real connection.
  return Object.create(sqlite, { prepare: { value: prepare } }) as Database;
}

export function wrapDrizzle(sqlite: Database): Db {
  return drizzle(cachingClient(sqlite), { schema });
}

/** Applies every pending migration from migrations/sqlite (the only way the schema changes). */
export function runMigrations(db: Db): void {
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
}

/** True when every migration shipped with this build has been applied. */
export function isMigrated(sqlite: Database, expected: number): boolean {
  try {
    const row = sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number } | undefined;
    return (row?.n ?? 0) >= expected;
  } catch (err) {
    // Never migrated: no such table. Anything else (a failing disk) is reported as itself, a
    // counted storage fault, not as missing migrations.
    if (/no such table/.test((err as Error).message)) return false;
    throw err;
  }
}
