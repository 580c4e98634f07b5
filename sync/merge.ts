import { compareHlc } from './hlc.ts';
import type { TableSpec } from './tables.ts';

/** A row's values (edge representation) with the clock of each column. */
export interface Versioned {
  values: Record<string, unknown>;
  clocks: Record<string, string>;
}

/** Status columns order by rank first, so a status never moves backwards; then by clock. */
function rankOf(spec: TableSpec, col: string, value: unknown): number {
  if (col !== 'status' || !spec.statusRank || typeof value !== 'string') return 0;
  return spec.statusRank[value] ?? 0;
}

/** True when (value, clock) b beats a: higher status rank, else the later clock (site breaks ties). */
export function beats(spec: TableSpec, col: string, b: { value: unknown; clock: string }, a: { value: unknown; clock: string }): boolean {
  const rb = rankOf(spec, col, b.value);
  const ra = rankOf(spec, col, a.value);
  if (rb !== ra) return rb > ra;
  return compareHlc(b.clock, a.clock) > 0;
}

/**
 * Per-column merge, the same on the edge and at HQ: for each column the incoming side carries,
 * the (rank, clock) maximum wins. It is a join (commutative, associative, idempotent), so every
 * replica that has seen the same changes holds the same row whatever the order they came in.
 * Returns the merged row and the columns where the incoming side won.
 */
export function mergeRow(spec: TableSpec, current: Versioned | undefined, incoming: Versioned): { merged: Versioned; won: string[] } {
  const merged: Versioned = { values: { ...(current?.values ?? {}) }, clocks: { ...(current?.clocks ?? {}) } };
  const won: string[] = [];
  for (const [col, value] of Object.entries(incoming.values)) {
    const clock = incoming.clocks[col] ?? '';
    const have = current && col in current.values ? { value: current.values[col], clock: current.clocks[col] ?? '' } : undefined;
    if (!have || beats(spec, col, { value, clock }, have)) {
      merged.values[col] = value;
      merged.clocks[col] = clock;
      won.push(col);
    }
  }
  return { merged, won };
}

/** Folds a sequence of changes to one row (oldest first) into one change. */
export function foldChanges(spec: TableSpec, changes: Versioned[]): Versioned {
  let acc: Versioned | undefined;
  for (const c of changes) acc = mergeRow(spec, acc, c).merged;
  return acc ?? { values: {}, clocks: {} };
}
