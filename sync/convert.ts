import { DELETED, type TableSpec } from './tables.ts';

/**
 * Values travel between representations: the edge stores times as epoch milliseconds, booleans
 * as 0/1 and JSON as text; HQ has timestamptz, boolean and jsonb. Merging always happens in the
 * edge representation, so both sides compare the same values.
 */

export function toHq(spec: TableSpec, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [col, v] of Object.entries(values)) {
    if (col === DELETED) {
      out[col] = v === 1 || v === true;
      continue;
    }
    const kind = spec.cols[col];
    if (kind === undefined) continue;
    if (v === null || v === undefined) out[col] = null;
    else if (kind === 'time') out[col] = new Date(Number(v)).toISOString();
    else if (kind === 'bool') out[col] = v === 1 || v === true;
    else if (kind === 'json') out[col] = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
    else out[col] = v;
  }
  return out;
}

export function fromHq(spec: TableSpec, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [col, kind] of Object.entries(spec.cols)) {
    const v = row[col];
    if (v === null || v === undefined) out[col] = null;
    else if (kind === 'time') out[col] = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : Number(v);
    else if (kind === 'bool') out[col] = v === true || v === 1 ? 1 : 0;
    else if (kind === 'json') out[col] = JSON.stringify(v);
    else out[col] = v;
  }
  if (DELETED in row) out[DELETED] = row[DELETED] === true ? 1 : 0;
  return out;
}
