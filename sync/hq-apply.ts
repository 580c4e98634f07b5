import type pg from 'pg';
import { fromHq, toHq } from './convert.ts';
import { type Versioned, mergeRow } from './merge.ts';
import { quoteIdent } from './hq/pool.ts';
import { DELETED, keyOf, parseKey, type TableSpec } from './tables.ts';

/** A row HQ refused, with PostgreSQL's reason. */
export interface Rejection {
  tbl: string;
  pk: string;
  data: string;
  reason: string;
}

const CHUNK = 2000;

/** Current HQ rows (edge representation, with clocks) for the given keys, locked for this transaction. */
export async function lockRows(client: pg.ClientBase, spec: TableSpec, keys: string[], lock = true): Promise<Map<string, Versioned & { siteId: number }>> {
  const out = new Map<string, Versioned & { siteId: number }>();
  if (keys.length === 0) return out;
  const t = quoteIdent(spec.name);
  const cols = spec.pk.map((c) => quoteIdent(c)).join(', ');
  const arrays = spec.pk.map((c) => keys.map((k) => parseKey(spec, k)[c]));
  const unnest = spec.pk.map((_, i) => `$${i + 1}::bigint[]`).join(', ');
  const sql = `SELECT to_jsonb(t) AS j FROM ${t} t WHERE (${cols}) IN (SELECT * FROM unnest(${unnest}))${lock ? ' FOR UPDATE' : ''}`;
  const res = await client.query<{ j: Record<string, unknown> }>(sql, arrays);
  for (const { j } of res.rows) {
    const values = fromHq(spec, j);
    out.set(keyOf(spec, values), { values, clocks: (j._clocks as Record<string, string>) ?? {}, siteId: Number(j.site_id) });
  }
  return out;
}

/** Writes whole merged rows (insert or overwrite), keeping each row's site. */
async function upsert(client: pg.ClientBase, spec: TableSpec, rows: Array<{ siteId: number; row: Versioned }>): Promise<void> {
  if (rows.length === 0) return;
  const t = quoteIdent(spec.name);
  const cols = ['site_id', ...Object.keys(spec.cols), DELETED, '_clocks'];
  const list = cols.map((c) => quoteIdent(c)).join(', ');
  const set = cols
    .filter((c) => !spec.pk.includes(c))
    .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
    .join(', ');
  const payload = rows.map(({ siteId, row }) => ({ ...toHq(spec, row.values), site_id: siteId, _clocks: row.clocks }));
  await client.query(
    `INSERT INTO ${t} (${list}) SELECT ${list} FROM jsonb_populate_recordset(null::${t}, $1::jsonb) ON CONFLICT (${spec.pk.map(quoteIdent).join(', ')}) DO UPDATE SET ${set}`,
    [JSON.stringify(payload)],
  );
}

/**
 * Merges a site's folded changes of one mutable table into HQ, per column by the merge rules.
 * With `careful`, each row gets its own savepoint and a refused row is returned instead of
 * failing the batch.
 */
export async function applyMutable(
  client: pg.ClientBase,
  spec: TableSpec,
  changes: Map<string, Versioned>,
  site: number,
  careful: boolean,
  isRejection: (err: unknown) => boolean,
): Promise<Rejection[]> {
  const rejected: Rejection[] = [];
  const keys = [...changes.keys()];
  for (let i = 0; i < keys.length; i += CHUNK) {
    const part = keys.slice(i, i + CHUNK);
    const current = await lockRows(client, spec, part);
    const writes: Array<{ key: string; siteId: number; row: Versioned }> = [];
    for (const key of part) {
      const incoming = changes.get(key);
      if (!incoming) continue;
      const have = current.get(key);
      const { merged, won } = mergeRow(spec, have, incoming);
      if (won.length > 0) writes.push({ key, siteId: have?.siteId ?? site, row: merged });
    }
    if (!careful) {
      await upsert(client, spec, writes);
      continue;
    }
    for (const w of writes) {
      await client.query('SAVEPOINT gw_row');
      try {
        await upsert(client, spec, [w]);
        await client.query('RELEASE SAVEPOINT gw_row');
      } catch (err) {
        if (!isRejection(err)) throw err;
        await client.query('ROLLBACK TO SAVEPOINT gw_row');
        rejected.push({ tbl: spec.name, pk: w.key, data: JSON.stringify(changes.get(w.key)?.values ?? {}), reason: (err as Error).message });
      }
    }
  }
  return rejected;
}

/** Inserts facts in bulk; a duplicate (a resent batch) is ignored. */
export async function applyFacts(
  client: pg.ClientBase,
  spec: TableSpec,
  rows: Array<Record<string, unknown>>,
  site: number,
  careful: boolean,
  isRejection: (err: unknown) => boolean,
): Promise<Rejection[]> {
  const t = quoteIdent(spec.name);
  const list = ['site_id', ...Object.keys(spec.cols)].map(quoteIdent).join(', ');
  const sql = `INSERT INTO ${t} (${list}) SELECT ${list} FROM jsonb_populate_recordset(null::${t}, $1::jsonb) ON CONFLICT DO NOTHING`;
  const payload = (part: Array<Record<string, unknown>>) => JSON.stringify(part.map((r) => ({ ...toHq(spec, r), site_id: site })));
  const rejected: Rejection[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    if (!careful) {
      await client.query(sql, [payload(part)]);
      continue;
    }
    for (const r of part) {
      await client.query('SAVEPOINT gw_row');
      try {
        await client.query(sql, [payload([r])]);
        await client.query('RELEASE SAVEPOINT gw_row');
      } catch (err) {
        if (!isRejection(err)) throw err;
        await client.query('ROLLBACK TO SAVEPOINT gw_row');
        rejected.push({ tbl: spec.name, pk: keyOf(spec, r), data: JSON.stringify(r), reason: (err as Error).message });
      }
    }
  }
  return rejected;
}
