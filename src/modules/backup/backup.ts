import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Sqlite, { type Database } from 'better-sqlite3';
import { fileInTheWay, openFailureReason } from '../../db/open-error.ts';

/** A refusal of an operations command: printed as one line, nothing changed. */
export class OpsError extends Error {
  override name = 'OpsError';
}

/** Pages per backup step: everything at once, so the copy is one consistent read of the source. */
const ALL_PAGES = 0x7fffffff;

export interface BackupResult {
  file: string;
  bytes: number;
  siteId: string | undefined;
}

/** Opens an existing SQLite file without creating one; a missing file is an OpsError. */
export function openExisting(file: string, readonly = false): Database {
  if (!existsSync(file)) {
    const blocked = fileInTheWay(file);
    throw new OpsError(blocked ? `cannot open database ${file}: ${blocked}` : `no database at ${file}`);
  }
  try {
    return new Sqlite(file, { fileMustExist: true, readonly, timeout: 5000 });
  } catch (err) {
    throw new OpsError(`cannot open database ${file}: ${openFailureReason(file, err)}`);
  }
}

/** `PRAGMA integrity_check`; throws OpsError naming the first problem (or "not a database"). */
export function checkIntegrity(db: Database, label: string): void {
  let rows: Array<{ integrity_check: string }>;
  try {
    rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  } catch (err) {
    throw new OpsError(`${label} is not a readable SQLite database: ${(err as Error).message}`);
  }
  const first = rows[0]?.integrity_check;
  if (rows.length !== 1 || first !== 'ok') throw new OpsError(`${label} fails integrity_check: ${first ?? 'no answer'}`);
}

/** The site id a gateway database was created for (gateway_meta), or undefined. */
export function siteIdOf(db: Database): string | undefined {
  try {
    const row = db.prepare("SELECT value FROM gateway_meta WHERE key = 'site_id'").get() as { value: string } | undefined;
    return row?.value;
  } catch {
    return undefined;
  }
}

/**
 * Copies a live database with SQLite's online backup API (`db.backup()`). All pages move in one
 * step, which is one read transaction: in WAL mode writers carry on meanwhile and the copy is the
 * database as of that moment. The copy is written beside the target and renamed into place only
 * after it passes integrity_check, so a nightly job never leaves a half-written file under the
 * name it rotates.
 */
export async function backupDatabase(databasePath: string, target: string): Promise<BackupResult> {
  const dest = path.resolve(target);
  if (dest === path.resolve(databasePath)) throw new OpsError('the backup file must not be the database itself');
  if (!existsSync(path.dirname(dest))) throw new OpsError(`folder ${path.dirname(dest)} does not exist`);
  const src = openExisting(databasePath);
  const partial = `${dest}.partial-${process.pid}`;
  try {
    const siteId = siteIdOf(src);
    if (siteId === undefined) throw new OpsError(`${databasePath} is not a gateway database (no site id)`);
    await src.backup(partial, { progress: () => ALL_PAGES });
    const copy = new Sqlite(partial, { fileMustExist: true });
    try {
      // A single self-contained file: no -wal beside it to forget when copying it off the box.
      copy.pragma('journal_mode = DELETE');
      checkIntegrity(copy, 'the backup');
    } finally {
      copy.close();
    }
    renameSync(partial, dest);
    return { file: dest, bytes: statSync(dest).size, siteId };
  } finally {
    src.close();
    rmSync(partial, { force: true });
    rmSync(`${partial}-journal`, { force: true });
  }
}
