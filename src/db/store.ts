import type { Database } from 'better-sqlite3';
import type { ShopEvent } from '../events/bus.ts';
import { type CommandRunner, createCommandRunner, type Tx } from './command.ts';
import { type Db, openSqlite, runMigrations, wrapDrizzle } from './connection.ts';
import { createDataAccess, type DataReads } from './entities/index.ts';
import { createEventRows } from './event-rows.ts';
import { type FaultReporter, silentFaults } from './faults.ts';
import { createIdAllocator, type IdAllocator } from './ids.ts';
import { createIdempotencyStore, type IdempotencyStore } from './idempotency.ts';
import { databaseOpenError } from './open-error.ts';

/** The gateway's handle on its SQLite database. */
export interface Store {
  sqlite: Database;
  db: Db;
  ids: IdAllocator;
  idempotency: IdempotencyStore;
  /** Every entity's reads (data/index.ts); their writes are the command's `tx.<entity>` only. */
  data: DataReads;
  faults: FaultReporter;
  /** Runs a read; storage faults surface as AppError UNAVAILABLE. */
  read<T>(fn: () => T): T;
  /** Runs a command with group commit; resolves once it is durable (see command.ts). */
  command<T>(fn: (tx: Tx) => T): Promise<T>;
  /** Runs a command at once in its own transaction (start-up, tools, timers). */
  commandNow<T>(fn: (tx: Tx) => T): T;
  close(): void;
}

export interface StoreOptions {
  /** Where committed events go (the event bus); nowhere by default. */
  publish?: (e: ShopEvent) => void;
  /** Where failures of after-commit hooks are reported. */
  onHookError?: (err: unknown) => void;
  faults?: FaultReporter;
  /** Longest total wait of a write for a lock held by another connection. */
  writeWaitMs?: number;
  /** The clock event rows are stamped with (the context's clock). */
  now?: () => number;
}

/**
 * Opens the database, applies migrations and pins the site id the file was created for. Any
 * failure on the way is a DatabaseOpenError naming the file and the cause.
 */
export function openStore(file: string, siteId: number, opts: StoreOptions = {}): Store {
  let sqlite: Database;
  try {
    sqlite = openSqlite(file);
  } catch (err) {
    throw databaseOpenError(file, err);
  }
  const db = wrapDrizzle(sqlite);
  try {
    runMigrations(db);
    pinSiteId(sqlite, siteId);
  } catch (err) {
    sqlite.close();
    throw databaseOpenError(file, err);
  }
  const ids = createIdAllocator(sqlite, siteId);
  const faults = opts.faults ?? silentFaults;
  const data = createDataAccess(sqlite);
  const runner: CommandRunner = createCommandRunner({
    sqlite,
    appendEvent: createEventRows(sqlite, ids, opts.now ?? Date.now),
    publish: opts.publish ?? (() => {}),
    data: data.writes,
    faults,
    onHookError: opts.onHookError ?? (() => {}),
    writeWaitMs: opts.writeWaitMs ?? 5000,
  });
  return {
    sqlite,
    db,
    ids,
    idempotency: createIdempotencyStore(sqlite),
    data: data.reads,
    faults,
    read: (fn) => {
      try {
        return fn();
      } catch (err) {
        throw faults.report(err, 'read') ?? err;
      }
    },
    command: runner.run,
    commandNow: runner.runNow,
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
