import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite, { type Database } from 'better-sqlite3';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema>;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/sqlite', import.meta.url));

export interface OpenOptions {
  /** PRAGMA synchronous; FULL by default so an acknowledged commit survives a power cut. */
  synchronous?: 'FULL' | 'NORMAL';
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Opens the SQLite file with the pragmas every connection of the gateway uses. */
export function openSqlite(file: string, opts: OpenOptions = {}): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Sqlite(file, { readonly: opts.readonly ?? false });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  sqlite.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('temp_store = MEMORY');
  sqlite.pragma('cache_size = -16000');
  return sqlite;
}

export function wrapDrizzle(sqlite: Database): Db {
  return drizzle(sqlite, { schema });
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
  } catch {
    return false;
  }
}
