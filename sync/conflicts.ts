import type { Database } from 'better-sqlite3';
import { parseHlc } from './hlc.ts';
import type { Versioned } from './merge.ts';
import { DELETED, MUTABLE_TABLES, parseKey, type TableSpec } from './tables.ts';

/**
 * A delete from HQ that removes floor work is kept as a conflict (docs/adr/0014): the row as the
 * floor had it goes to `sync_rejected` with direction 'conflict', shown in /sync/status and the
 * console's System page. Floor work is a row of a table with a status (work orders, stages,
 * issues) that carries a change made on this site; an unassignment or a machine removed at HQ is
 * ordinary planning and is not recorded.
 */
export function isFloorWork(spec: TableSpec, site: number, current: Versioned | undefined): current is Versioned {
  if (!spec.statusRank || !current || current.values[DELETED] !== 0) return false;
  return Object.values(current.clocks).some((clock) => {
    try {
      return parseHlc(clock).site === site;
    } catch {
      return false;
    }
  });
}

/** True when a pulled tombstone (`merged`) removes floor work. */
export function floorWorkDeleted(spec: TableSpec, site: number, current: Versioned | undefined, merged: Versioned): current is Versioned {
  return merged.values[DELETED] === 1 && isFloorWork(spec, site, current);
}

/** Records the floor's version of a row HQ deleted; `how` says which delete (its clock, or its parent). */
export function recordConflict(sqlite: Database, spec: TableSpec, key: string, current: Versioned, how: string, at: number): void {
  const { [DELETED]: _, ...row } = current.values;
  const reason = `deleted at HQ (${how}) after the floor changed it; the floor's version is kept here`;
  sqlite
    .prepare("INSERT INTO sync_rejected (direction, tbl, pk, data, reason, at) VALUES ('conflict', ?, ?, ?, ?, ?)")
    .run(spec.name, key, JSON.stringify(row), reason, at);
}

/** The clock of a pulled tombstone, for a conflict's reason. */
export const tombstoneClock = (merged: Versioned): string => `clock ${merged.clocks[DELETED] ?? '?'}`;

/**
 * Before a pulled tombstone deletes a row, deletes the edge's rows that still refer to it
 * (children first, recursively), each kept as a conflict when it carries floor work. HQ
 * tombstones those children too (with the parent, or when a site pushes one under a parent it
 * already deleted: HQ migration 0006), so both sides end without them; doing it here means the
 * parent's delete never waits on a child whose tombstone is in a later page.
 */
export function deleteLocalChildren(
  sqlite: Database,
  spec: TableSpec,
  key: string,
  opts: { site: number; at: number; versionOf: (spec: TableSpec, key: string) => Versioned | undefined },
): void {
  const parentId = parseKey(spec, key).id;
  if (parentId === undefined) return;
  for (const child of MUTABLE_TABLES) {
    for (const ref of child.parents ?? []) {
      if (ref.table !== spec.name) continue;
      const keyExpr = child.pk.map((c) => `CAST(${c} AS TEXT)`).join(" || ':' || ");
      const keys = sqlite.prepare(`SELECT ${keyExpr} AS k FROM ${child.name} WHERE ${ref.col} = ?`).all(parentId) as Array<{ k: string }>;
      for (const { k } of keys) {
        deleteLocalChildren(sqlite, child, k, opts);
        const current = opts.versionOf(child, k);
        if (isFloorWork(child, opts.site, current)) recordConflict(sqlite, child, k, current, `with its parent ${spec.name} ${key}`, opts.at);
        const pk = parseKey(child, k);
        sqlite.prepare(`DELETE FROM ${child.name} WHERE ${child.pk.map((c) => `${c} = ?`).join(' AND ')}`).run(...child.pk.map((c) => pk[c]));
      }
    }
  }
}
