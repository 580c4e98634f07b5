import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The database could not be opened; the message names the file and the cause in one line. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open database ${file}: ${reason}`, options);
  }
}

/** What opening `file` threw (fs, SQLite, migrations, the site check) as a DatabaseOpenError. */
export function databaseOpenError(file: string, err: unknown): DatabaseOpenError {
  if (err instanceof DatabaseOpenError) return err;
  return new DatabaseOpenError(file, openFailureReason(file, err), { cause: err });
}

type Kind = 'missing' | 'folder' | 'file' | 'unknown';

function kindOf(p: string): Kind {
  try {
    return statSync(p).isDirectory() ? 'folder' : 'file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unknown';
  }
}

function allowed(p: string, mode: number): boolean {
  try {
    accessSync(p, mode);
    return true;
  } catch {
    return false;
  }
}

/** `<path> is a file, not a folder` when the nearest existing ancestor of `file` is a file. */
export function fileInTheWay(file: string): string | undefined {
  for (let dir = path.dirname(path.resolve(file)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const kind = kindOf(dir);
    if (kind === 'file') return `${dir} is a file, not a folder`;
    if (kind !== 'missing') return undefined;
  }
  return undefined;
}

/** The outermost missing folder on the way to `file`, if any. */
function missingFolder(file: string): string | undefined {
  let missing: string | undefined;
  for (let dir = path.dirname(file); dir !== path.dirname(dir) && kindOf(dir) === 'missing'; dir = path.dirname(dir)) missing = dir;
  return missing;
}

/** The innermost error with a code (fs, SQLite), or `err` itself. */
function rootCause(err: unknown): unknown {
  let at = err;
  for (let depth = 0; depth < 5 && at instanceof Error && (at as { code?: unknown }).code === undefined && at.cause !== undefined; depth++) at = at.cause;
  return (at as { code?: unknown } | undefined)?.code === undefined ? err : at;
}

/**
 * Why `file` could not be opened, in the operator's words. SQLite reports a folder in the way, a
 * missing permission and a missing folder all as "unable to open database file"; those are told
 * apart by looking at the path.
 */
export function openFailureReason(file: string, err: unknown): string {
  const at = path.resolve(file);
  // drizzle wraps a failing migration's SQLite error (DrizzleQueryError, the original as `cause`).
  const root = rootCause(err);
  const code = String((root as { code?: unknown } | undefined)?.code ?? '');
  const message = root instanceof Error ? root.message : String(root);
  const blocked = fileInTheWay(at);
  if (blocked) return blocked;
  // mkdir of the data folder (connection.ts, run-lock.ts).
  const missing = missingFolder(at);
  if ((code === 'EACCES' || code === 'EPERM') && missing) return `folder ${missing} does not exist and cannot be created (permission denied)`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${message})`;
  if (code === 'EROFS') return 'the file system is read-only';
  // SQLite opens a file it may not write read-only, and fails at the first write.
  if (code.startsWith('SQLITE_READONLY'))
    return allowed(at, constants.W_OK) ? `cannot write to it (${message})` : 'permission denied (read-only for this user)';
  if (code === 'ENOSPC' || code === 'SQLITE_FULL') return `the disk is full (${message})`;
  if (code === 'SQLITE_NOTADB') return 'it is not an SQLite database';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return `locked by another process (${message})`;
  if (code.startsWith('SQLITE_CORRUPT')) return `the file is damaged (${message})`;
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_IOERR')) {
    if (missing) return `folder ${missing} does not exist`;
    const kind = kindOf(at);
    if (kind === 'folder') return 'it is a folder';
    if (kind !== 'missing' && !allowed(at, constants.R_OK | constants.W_OK)) return 'permission denied';
    // SQLite creates the file, and its -wal and -shm files, beside it.
    if (!allowed(path.dirname(at), constants.W_OK | constants.X_OK)) return `permission denied (cannot create files in ${path.dirname(at)})`;
  }
  return message;
}
