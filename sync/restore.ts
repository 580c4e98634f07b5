import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { SITE_SHIFT } from '../src/db/ids.ts';

const siteBase = (site: number) => site * SITE_SHIFT;
import { fromHq } from './convert.ts';
import { quoteIdent } from './hq/pool.ts';
import { applyFromHq } from './local-tx.ts';
import { setMeta } from './state.ts';
import { DELETED, keyOf, MUTABLE_TABLES, TABLES, type TableSpec } from './tables.ts';

export class RestoreRefusedError extends Error {
  override name = 'RestoreRefusedError';
}

/** A row HQ holds that the edge cannot: its parent is deleted or missing at HQ (or skipped itself). */
export interface SkippedRow {
  tbl: string;
  pk: string;
  reason: string;
}

export interface RestoreResult {
  /** Rows restored per table. */
  counts: Record<string, number>;
  /** Orphans left out, in table order. */
  skipped: SkippedRow[];
}

/** Restore brings back what a box needs to work; resolved issues stay at HQ. */
const RESTORE_FILTER: Record<string, string> = { issues: "status <> 'resolved'" };

function insertRow(sqlite: Database, spec: TableSpec, values: Record<string, unknown>, clocks: Record<string, string>): void {
  const cols = Object.keys(spec.cols);
  sqlite
    .prepare(`INSERT INTO ${spec.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
    .run(...cols.map((c) => (values[c] ?? null) as never));
  const key = spec.pk.map((c) => String(values[c])).join(':');
  sqlite.prepare('INSERT INTO sync_clock (tbl, pk, clocks) VALUES (?, ?, ?)').run(spec.name, key, JSON.stringify(clocks));
}

type HqRow = { values: Record<string, unknown>; clocks: Record<string, string> };

/**
 * Drops the rows whose parent is not being restored (the edge's foreign keys would refuse them),
 * parents first, so a stage left out takes its assignments and issues with it.
 */
function dropOrphans(rows: Map<string, HqRow[]>): SkippedRow[] {
  const skipped: SkippedRow[] = [];
  const kept = new Map<string, Set<string>>();
  const left = new Set<string>();
  for (const spec of MUTABLE_TABLES) {
    const list = rows.get(spec.name) ?? [];
    const keep = list.filter((r) => {
      const missing = (spec.parents ?? []).find((p) => !kept.get(p.table)?.has(String(r.values[p.col])));
      if (!missing) return true;
      const parent = `${missing.table} ${String(r.values[missing.col])}`;
      const reason = left.has(parent) ? `${parent} is skipped` : `${parent} is deleted or missing at HQ`;
      skipped.push({ tbl: spec.name, pk: keyOf(spec, r.values), reason });
      left.add(`${spec.name} ${keyOf(spec, r.values)}`);
      return false;
    });
    rows.set(spec.name, keep);
    kept.set(spec.name, new Set(keep.map((r) => keyOf(spec, r.values))));
  }
  return skipped;
}

/**
 * Restores a wiped box of an existing site from HQ: users, machines, work orders, stages,
 * assignments and open issues, in one SQLite transaction with capture on (so nothing is sent
 * back), id sequences continued past everything HQ holds from this site, the outbox numbered
 * after HQ's cursor for the site, and the pull cursor at HQ's snapshot. A row whose parent HQ
 * does not hold (deleted, or never there) is skipped and reported, never a reason to fail.
 * Refuses a database that already holds work.
 */
export async function restoreSite(sqlite: Database, pool: pg.Pool, site: number, progress: (line: string) => void = () => {}): Promise<RestoreResult> {
  const busy = (
    sqlite.prepare('SELECT (SELECT count(*) FROM work_orders) + (SELECT count(*) FROM users) + (SELECT count(*) FROM sync_outbox) AS n').get() as { n: number }
  ).n;
  if (busy > 0) throw new RestoreRefusedError('restore needs an empty database (no users, work orders or unsent changes): use a fresh DATABASE_PATH');
  const client = await pool.connect();
  const rows = new Map<string, HqRow[]>();
  const maxIds = new Map<string, number>();
  let cursor: { xid: string; log_id: number } | undefined;
  let lastSeq = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const cur = await client.query<{ last_seq: number }>('SELECT last_seq FROM sync_push_cursor WHERE site_id = $1', [site]);
    if (!cur.rows[0]) throw new RestoreRefusedError(`site ${site} is not registered at HQ`);
    lastSeq = cur.rows[0].last_seq;
    const log = await client.query<{ xid: string; log_id: number }>(
      `SELECT xid::text AS xid, log_id FROM sync_change_log WHERE site_id = $1 AND xid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY xid DESC, log_id DESC LIMIT 1`,
      [site],
    );
    cursor = log.rows[0];
    for (const spec of MUTABLE_TABLES) {
      const filter = RESTORE_FILTER[spec.name];
      const res = await client.query<{ j: Record<string, unknown> }>(
        `SELECT to_jsonb(t) AS j FROM ${quoteIdent(spec.name)} t WHERE site_id = $1 AND NOT _deleted${filter ? ` AND ${filter}` : ''} ORDER BY ${spec.pk.join(', ')}`,
        [site],
      );
      rows.set(
        spec.name,
        res.rows.map(({ j }) => {
          const values = fromHq(spec, j);
          delete values[DELETED];
          return { values, clocks: (j._clocks as Record<string, string>) ?? {} };
        }),
      );
      progress(`restore: ${spec.name} ${res.rows.length} rows`);
    }
    // Ids of this site's range HQ holds, including facts and resolved issues, so new ids never collide.
    for (const spec of TABLES.filter((t) => t.pk.length === 1 && t.pk[0] === 'id')) {
      const res = await client.query<{ m: number | null }>(`SELECT max(id) AS m FROM ${quoteIdent(spec.name)} WHERE id >= $1 AND id < $2`, [
        siteBase(site),
        siteBase(site) + SITE_SHIFT,
      ]);
      maxIds.set(spec.name, res.rows[0]?.m ?? 0);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  const skipped = dropOrphans(rows);
  if (skipped.length > 0) {
    progress(`restore: skipped ${skipped.length} rows whose parent HQ does not hold: ${skipped.map((r) => `${r.tbl} ${r.pk}`).join(', ')}`);
  }
  const counts: Record<string, number> = {};
  applyFromHq(
    sqlite,
    (tx) => {
      for (const spec of MUTABLE_TABLES) {
        const list = rows.get(spec.name) ?? [];
        for (const r of list) {
          insertRow(sqlite, spec, r.values, r.clocks);
          tx.observe(r.clocks);
        }
        counts[spec.name] = list.length;
      }
    },
    () => {
      const seq = sqlite.prepare(
        'INSERT INTO id_sequences (name, next_local) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET next_local = max(next_local, excluded.next_local)',
      );
      for (const [name, max] of maxIds) if (max > 0) seq.run(name, max - siteBase(site) + 1);
      // The outbox continues after the last sequence HQ applied from this site.
      sqlite.prepare("DELETE FROM sqlite_sequence WHERE name = 'sync_outbox'").run();
      sqlite.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('sync_outbox', ?)").run(lastSeq);
      if (cursor) {
        setMeta(sqlite, 'pull_xid', cursor.xid);
        setMeta(sqlite, 'pull_log_id', cursor.log_id);
      }
    },
    { enableCapture: true },
  );
  progress(
    `restore: done (${Object.entries(counts)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}${skipped.length > 0 ? `; ${skipped.length} skipped` : ''})`,
  );
  return { counts, skipped };
}
