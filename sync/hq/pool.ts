import pg from 'pg';

/** HQ connection settings as config.ts parsed them. */
export interface HqOptions {
  url: string;
  schema: string;
  /** Connections kept per edge: a cycle uses one at a time, so two is plenty. */
  max?: number;
}

const INT8 = 20;
const NUMERIC = 1700;

/** Ids stay below 2^53 (src/db/ids.ts), so int8 is safe as a JavaScript number. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 && format !== 'binary') return (v: string) => Number(v);
    if (oid === NUMERIC && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A small pool on HQ_DATABASE_URL (TLS and its options come from the URL: sslmode, sslrootcert,
 * ...).
 */
export function createHqPool(opts: HqOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // A cut link must fail a cycle, not hang it: the worker retries with backoff.
    query_timeout: 120_000,
    keepAlive: true,
    application_name: 'edge-gateway-sync',
    types,
    // Every connection works in HQ_SCHEMA (a startup parameter, so no extra round trip).
    options: `-c search_path=${opts.schema}`,
  });
  // A link cut while a connection is idle or checked out between two queries must not crash the
  // process: the next query on it fails instead, the cycle fails and is retried with backoff.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** The URL without its password, for printing. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * SQLSTATEs that are a property of the row itself: HQ would refuse the same row on any retry, so
 * it is set aside (sync_rejected) and the rest of the batch goes on. Anything else, including an
 * unknown code or an error without one (a cut link), is a fault of the system: the whole batch
 * fails, nothing is passed, and the worker retries it with backoff. docs/sync.md has the table.
 */
const ROW_SQLSTATES = new Set([
  // Class 23, integrity constraint violation: the row breaks one of HQ's rules.
  '23000', // integrity_constraint_violation
  '23001', // restrict_violation
  '23502', // not_null_violation
  '23503', // foreign_key_violation
  '23505', // unique_violation (the primary key is ON CONFLICT: another key clashes, e.g. a username)
  '23514', // check_violation (also HQ's "status cannot move back" trigger)
  '23P01', // exclusion_violation
  // Class 22, data exception: only the codes a value of the row raises. Others (22012 division
  // by zero, 2200H sequence limit, 22023 invalid parameter, ...) come from HQ's code or state.
  '22001', // string_data_right_truncation: string too long
  '22003', // numeric_value_out_of_range
  '22004', // null_value_not_allowed
  '22007', // invalid_datetime_format
  '22008', // datetime_field_overflow: datetime out of range
  '22009', // invalid_time_zone_displacement_value
  '22021', // character_not_in_repertoire
  '22P02', // invalid_text_representation (a value HQ's column type cannot read)
  '22P05', // untranslatable_character
]);

/**
 * 42501 is both a missing GRANT (a fault of the system: "permission denied for table …", from
 * aclcheck_error) and a row-level-security WITH CHECK failure ("new row violates row-level security
 * policy …", from ExecWithCheckOptions): the row's site or key is not this site's, which no retry
 * changes. The routine name is not translated (the message is under a non-English lc_messages), so
 * it decides; the message only when a proxy dropped the routine.
 */
function isRowLevelSecurityRefusal(err: { routine?: unknown; message?: unknown }): boolean {
  if (typeof err.routine === 'string') return err.routine === 'ExecWithCheckOptions';
  return typeof err.message === 'string' && err.message.startsWith('new row violates row-level security policy');
}

/** True when HQ refuses this row (set it aside); false for "try the whole batch again later". */
export function isRowRejection(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; routine?: unknown; message?: unknown };
  if (typeof e.code !== 'string') return false;
  if (e.code === '42501') return isRowLevelSecurityRefusal(e);
  return ROW_SQLSTATES.has(e.code);
}
