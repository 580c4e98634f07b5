import { AppError } from '../errors.ts';

/** Opaque keyset cursor: the sort key of the last row returned, base64url JSON. */
export function encodeCursor(values: Array<string | number>): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, shape: Array<'string' | 'number'>): Array<string | number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== shape.length ||
    !parsed.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isFinite(v)))
  ) {
    throw new AppError('VALIDATION_ERROR', 'request validation failed', [{ path: 'cursor', message: 'not a cursor from this list' }]);
  }
  return parsed as Array<string | number>;
}

/** Splits a page fetched with limit + 1 rows into the page and the cursor for the next one. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => Array<string | number>) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null;
  return { page, nextCursor };
}
