import type { Database } from 'better-sqlite3';
import { parseHlc } from './hlc.ts';
import type { Versioned } from './merge.ts';
import { DELETED, type TableSpec } from './tables.ts';

/**
 * A delete from HQ that removes floor work is kept as a conflict (docs/adr/0014): the row as the
 * floor had it goes to `sync_rejected` with direction 'conflict', shown in /sync/status and the
 * console's System page. Floor work is a row of a table with a status (work orders, stages,
 * issues) that carries a change made on this site; an unassignment or a machine removed at HQ is
 * ordinary planning and is not recorded.
 */
export function floorWorkDeleted(spec: TableSpec, site: number, current: Versioned | undefined, merged: Versioned): boolean {
  if (!spec.statusRank || !current || current.values[DELETED] !== 0 || merged.values[DELETED] !== 1) return false;
  return Object.values(current.clocks).some((clock) => {
    try {
      return parseHlc(clock).site === site;
    } catch {
      return false;
    }
  });
}

/** Records the floor's version of a row HQ deleted, with the clock of the delete. */
export function recordConflict(sqlite: Database, spec: TableSpec, key: string, current: Versioned, merged: Versioned, at: number): void {
  const { [DELETED]: _, ...row } = current.values;
  const reason = `deleted at HQ (clock ${merged.clocks[DELETED] ?? '?'}) after the floor changed it; the floor's version is kept here`;
  sqlite
    .prepare("INSERT INTO sync_rejected (direction, tbl, pk, data, reason, at) VALUES ('conflict', ?, ?, ?, ?, ?)")
    .run(spec.name, key, JSON.stringify(row), reason, at);
}
