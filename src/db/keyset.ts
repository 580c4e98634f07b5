import { and, or, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { AppError } from '../errors.ts';

/** limit and the opaque cursor of every list (see API.md, pagination). */
export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

/** One page of a list and the cursor of the next (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A sort key: a column or an expression, compared as a number. */
type Key = SQLiteColumn | SQL<number>;

function encodeCursor(values: number[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(cursor: string, width: number): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== width || !parsed.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new AppError('VALIDATION_ERROR', 'request validation failed', [{ path: 'cursor', message: 'not a cursor from this list' }]);
  }
  return parsed as number[];
}

/** Rows strictly after `values` in the lexicographic order of `keys`. */
function after(keys: Key[], values: number[], direction: 'asc' | 'desc'): SQL | undefined {
  const [key, ...rest] = keys;
  const [value, ...others] = values;
  if (key === undefined || value === undefined) return undefined;
  const beyond = direction === 'asc' ? sql`${key} > ${value}` : sql`${key} < ${value}`;
  if (rest.length === 0) return beyond;
  return or(beyond, and(sql`${key} = ${value}`, after(rest, others, direction)));
}

/**
 * Keyset pagination, written once for every list: the cursor carries the sort key of the last row
 * returned, so a page costs an index seek whatever its depth and rows inserted meanwhile are not
 * skipped or repeated. `fetch` runs the query with the extra condition and limit + 1 rows.
 */
export function keysetPage<T>(
  q: PageQuery,
  spec: {
    keys: Key[];
    direction: 'asc' | 'desc';
    keyOf: (row: T) => number[];
    fetch: (afterCursor: SQL | undefined, limit: number) => T[];
  },
): Page<T> {
  return keysetPageOf(q, {
    width: spec.keys.length,
    keyOf: spec.keyOf,
    fetch: (values, limit) => spec.fetch(values ? after(spec.keys, values, spec.direction) : undefined, limit),
  });
}

/**
 * The same pagination for a list whose query is a prepared SQL statement (the hottest reads):
 * `fetch` gets the cursor's key values (undefined on the first page) and applies them itself.
 */
export function keysetPageOf<T>(
  q: PageQuery,
  spec: { width: number; keyOf: (row: T) => number[]; fetch: (afterValues: number[] | undefined, limit: number) => T[] },
): Page<T> {
  const rows = spec.fetch(q.cursor ? decodeCursor(q.cursor, spec.width) : undefined, q.limit + 1);
  const items = rows.length > q.limit ? rows.slice(0, q.limit) : rows;
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor(spec.keyOf(last)) : null };
}
