/**
 * SQLite result codes that are a property of a pulled row: the edge would refuse the same row on
 * any retry (a username that clashes, a value its CHECK or type refuses, a missing parent), so it
 * is set aside in sync_rejected and the rest of the page goes on. Anything else (a full disk, an
 * I/O error, a lock, a read-only or corrupt file, SQLITE_ERROR such as a missing column after a
 * bad migration, a non-SQLite error) is the edge's condition: the page rolls back whole and is
 * pulled again. docs/sync.md has the table.
 */
const ROW_CODES = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)(_|$)/;

/** True when the edge refuses this pulled row itself; false for "roll the page back, retry". */
export function isLocalRowRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ROW_CODES.test(code);
}
