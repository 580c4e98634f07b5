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

/** SQLSTATE classes that mean "HQ refuses this row", as opposed to "try again later". */
export function isRowRejection(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return code.startsWith('22') || code.startsWith('23') || code === '42501' || code === 'P0001';
}
