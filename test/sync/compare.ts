import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { fromHq } from '../../sync/convert.ts';
import { DELETED, keyOf, TABLES } from '../../sync/tables.ts';

/** Rows of one site per table, in the edge representation, keyed and sorted, for comparison. */
export type SiteRows = Record<string, Array<[string, string]>>;

export function edgeRows(sqlite: Database): SiteRows {
  const out: SiteRows = {};
  for (const spec of TABLES) {
    const rows = sqlite.prepare(`SELECT ${Object.keys(spec.cols).join(', ')} FROM ${spec.name}`).all() as Array<Record<string, unknown>>;
    out[spec.name] = rows.map((r) => [keyOf(spec, r), canonical(spec.name, r)] as [string, string]).sort((a, b) => a[0].localeCompare(b[0]));
  }
  return out;
}

export async function hqSiteRows(pool: pg.Pool, site: number): Promise<SiteRows> {
  const out: SiteRows = {};
  for (const spec of TABLES) {
    const res = await pool.query<{ j: Record<string, unknown> }>(`SELECT to_jsonb(t) AS j FROM ${spec.name} t WHERE site_id = $1`, [site]);
    out[spec.name] = res.rows
      .filter((r) => r.j[DELETED] !== true)
      .map((r) => {
        const v = fromHq(spec, r.j);
        delete v[DELETED];
        return [keyOf(spec, v), canonical(spec.name, v)] as [string, string];
      })
      .sort((a, b) => a[0].localeCompare(b[0]));
  }
  return out;
}

/** JSON columns compare by content (jsonb reorders keys). */
function canonical(table: string, row: Record<string, unknown>): string {
  const copy = { ...row };
  if (table === 'events' && typeof copy.data === 'string') copy.data = JSON.parse(copy.data);
  return JSON.stringify(copy, Object.keys(copy).sort());
}

export function contentHash(rows: SiteRows): string {
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/** The first differing rows, for a readable failure. */
export function firstDifference(a: SiteRows, b: SiteRows): string {
  for (const table of Object.keys(a)) {
    const x = new Map(a[table]);
    const y = new Map(b[table]);
    for (const [k, v] of x) if (y.get(k) !== v) return `${table} ${k}: edge ${v} / hq ${y.get(k) ?? 'missing'}`;
    for (const [k, v] of y) if (!x.has(k)) return `${table} ${k}: edge missing / hq ${v}`;
  }
  return 'none';
}
