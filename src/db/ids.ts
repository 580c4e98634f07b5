import type { Database } from 'better-sqlite3';

/** Ids are site_id × 2^40 + a per-table local sequence: unique across sites, below 2^53. */
export const SITE_SHIFT = 2 ** 40;

function siteBase(siteId: number): number {
  return siteId * SITE_SHIFT;
}

/** Which site allocated an id (0 = HQ). */
export function siteOfId(id: number): number {
  return Math.floor(id / SITE_SHIFT);
}

/** Allocates ids from this site's range; must be called inside a write transaction. */
export interface IdAllocator {
  next(table: string): number;
  /** Reserves `count` consecutive ids and returns the first. */
  block(table: string, count: number): number;
}

export function createIdAllocator(sqlite: Database, siteId: number): IdAllocator {
  const bump = sqlite.prepare<[{ count: number; name: string }], { next_local: number }>(
    'INSERT INTO id_sequences (name, next_local) VALUES (@name, @count + 1) ' +
      'ON CONFLICT(name) DO UPDATE SET next_local = next_local + @count RETURNING next_local',
  );
  const base = siteBase(siteId);
  const block = (table: string, count: number): number => {
    const row = bump.get({ count, name: table });
    if (!row) throw new Error(`id allocation failed for ${table}`);
    const first = row.next_local - count;
    if (first + count >= SITE_SHIFT) throw new Error(`id range of site ${siteId} exhausted for ${table}`);
    return base + first;
  };
  return { next: (table) => block(table, 1), block };
}
