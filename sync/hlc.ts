/**
 * Hybrid logical clock as fixed-width text "WWWWWWWWWWWWW-CCCCC-SSSS": wall milliseconds,
 * a counter for events in the same millisecond (or while the wall clock is behind), and the
 * site number (HQ is 0). Plain string order is clock order with the site as tie-breaker, so
 * SQLite triggers, PostgreSQL (COLLATE "C") and TypeScript compare clocks the same way.
 */
export interface Hlc {
  wall: number;
  counter: number;
  site: number;
}

export function formatHlc(h: Hlc): string {
  return `${String(h.wall).padStart(13, '0')}-${String(h.counter).padStart(5, '0')}-${String(h.site).padStart(4, '0')}`;
}

export function parseHlc(text: string): Hlc {
  const m = /^(\d{13})-(\d{5})-(\d{4})$/.exec(text);
  if (!m) throw new Error(`not a clock: ${text}`);
  return { wall: Number(m[1]), counter: Number(m[2]), site: Number(m[3]) };
}

/** Byte order, never locale order. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The SQL expression (SQLite) for the current wall time in ms, exact and without our functions. */
export const SQLITE_NOW_MS = "(CAST(strftime('%s','now') AS INTEGER) * 1000 + CAST(substr(strftime('%f','now'), 4, 3) AS INTEGER))";
