import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { fromHq } from '../../../sync/convert.ts';
import { DELETED, keyOf, MUTABLE_TABLES, type TableSpec } from '../../../sync/tables.ts';

/**
 * Every write the runs made, cell by cell, identified by its clock. Rows are observed on the edges
 * (SQLite plus sync_clock) and at HQ (the site's rows with _clocks) after each step; a cell whose
 * clock carries the writer's own site number (HQ: 0) and was not seen before is a write of that
 * writer, committed, so it must not be lost. Observing the clock rather than the call that made a
 * change also catches what a killed child process committed and what HQ's triggers did (cascaded
 * tombstones), and never takes a pulled change for the puller's own.
 */

/** One version of one row: column values (edge representation, `_deleted` 0/1) and their clocks. */
export interface RowVersion {
  values: Record<string, unknown>;
  clocks: Record<string, string>;
}
export type Snapshot = Map<string, RowVersion>;

/** One committed write of one cell. */
export interface CellWrite {
  value: unknown;
  clock: string;
  by: string;
  step: number;
}

const rowId = (table: string, key: string) => `${table}|${key}`;
export const siteOfClock = (clock: string): number => Number(clock.slice(-4));

/**
 * The mutable rows an edge holds. A row it no longer holds is left out: sync_clock keeps the
 * clocks of a row a pulled tombstone removed as they were, so they do not date the delete; the
 * edge's own deletes (unassignments) are checked by the comparison with HQ instead.
 */
export function edgeSnapshot(sqlite: Database): Snapshot {
  const out: Snapshot = new Map();
  const clocks = new Map<string, Record<string, string>>();
  for (const r of sqlite.prepare('SELECT tbl, pk, clocks FROM sync_clock').all() as Array<{ tbl: string; pk: string; clocks: string }>) {
    clocks.set(rowId(r.tbl, r.pk), JSON.parse(r.clocks) as Record<string, string>);
  }
  for (const spec of MUTABLE_TABLES) {
    const rows = sqlite.prepare(`SELECT ${Object.keys(spec.cols).join(', ')} FROM ${spec.name}`).all() as Array<Record<string, unknown>>;
    for (const row of rows) {
      const id = rowId(spec.name, keyOf(spec, row));
      out.set(id, { values: { ...row, [DELETED]: 0 }, clocks: clocks.get(id) ?? {} });
    }
  }
  return out;
}

/** One site's mutable rows at HQ, tombstones included. */
export async function hqSnapshot(db: pg.Pool | pg.Client, site: number): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const spec of MUTABLE_TABLES) {
    const res = await db.query<{ j: Record<string, unknown> }>(`SELECT to_jsonb(t) AS j FROM ${spec.name} t WHERE site_id = $1`, [site]);
    for (const { j } of res.rows) {
      const values = fromHq(spec, j);
      out.set(rowId(spec.name, keyOf(spec, values)), { values, clocks: (j._clocks ?? {}) as Record<string, string> });
    }
  }
  return out;
}

export class Ledger {
  /** table|key|col → writes of that cell by clock. */
  readonly cells = new Map<string, Map<string, CellWrite>>();
  /** Reading ids each edge committed. */
  readonly readings = new Map<number, number[]>();
  /** The same clock seen with two values: a finding by itself. */
  readonly clashes: string[] = [];
  step = 0;

  /** Records every cell of `snap` clocked by `site` that is not recorded yet. */
  record(snap: Snapshot, site: number, by: string): void {
    for (const [id, row] of snap) {
      for (const [col, clock] of Object.entries(row.clocks)) {
        if (siteOfClock(clock) !== site || !(col in row.values)) continue;
        const cell = `${id}|${col}`;
        const writes = this.cells.get(cell) ?? new Map<string, CellWrite>();
        this.cells.set(cell, writes);
        const value = row.values[col];
        const seen = writes.get(clock);
        if (seen) {
          if (JSON.stringify(seen.value) !== JSON.stringify(value))
            this.clashes.push(`${cell} clock ${clock}: ${JSON.stringify(seen.value)} (${seen.by}) and ${JSON.stringify(value)} (${by})`);
          continue;
        }
        writes.set(clock, { value, clock, by, step: this.step });
      }
    }
  }

  addReadings(site: number, first: number, n: number): void {
    const ids = this.readings.get(site) ?? [];
    this.readings.set(site, ids);
    for (let k = 0; k < n; k++) ids.push(first + k);
  }
}

export const specOf = (table: string): TableSpec | undefined => MUTABLE_TABLES.find((t) => t.name === table);
