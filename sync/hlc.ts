/**
 * Hybrid logical clock as fixed-width text "WWWWWWWWWWWWW-CCCCC-SSSS": wall milliseconds,
 * a counter for events in the same millisecond (or while the wall clock is behind), and the
 * site number (HQ is 0). Plain string order is clock order with the site as tie-breaker, so
 * SQLite triggers, PostgreSQL (COLLATE "C") and TypeScript compare clocks the same way.
 *
 * The counter has five digits. A tick that would take it past COUNTER_MAX advances the logical
 * wall by 1 ms and restarts the counter at 0 instead, so the text keeps its width and its order
 * for any number of events (the same rule in SQLite's capture triggers, the pull's receive and
 * HQ's gw_hlc_after).
 */
export interface Hlc {
  wall: number;
  counter: number;
  site: number;
}

/** The largest counter the text form holds; the next tick carries into the wall. */
export const COUNTER_MAX = 99_999;

/** Carries a counter past COUNTER_MAX into the wall (a clock written before the carry rule had up to 6+ digits). */
function normalise(h: Hlc): Hlc {
  if (h.counter <= COUNTER_MAX) return h;
  const span = COUNTER_MAX + 1;
  return { wall: h.wall + Math.floor(h.counter / span), counter: h.counter % span, site: h.site };
}

export function formatHlc(h: Hlc): string {
  const n = normalise(h);
  return `${String(n.wall).padStart(13, '0')}-${String(n.counter).padStart(5, '0')}-${String(n.site).padStart(4, '0')}`;
}

/** Reads a clock; one stamped before the carry rule with a counter of 6+ digits comes back carried. */
export function parseHlc(text: string): Hlc {
  const m = /^(\d{13})-(\d{5,})-(\d{4})$/.exec(text);
  if (!m) throw new Error(`not a clock: ${text}`);
  return normalise({ wall: Number(m[1]), counter: Number(m[2]), site: Number(m[3]) });
}

/** The next local clock: the wall clock when it is ahead, else one tick (carrying past COUNTER_MAX). */
export function tickHlc(last: Hlc, nowMs: number): Hlc {
  if (nowMs > last.wall) return { wall: nowMs, counter: 0, site: last.site };
  if (last.counter >= COUNTER_MAX) return { wall: last.wall + 1, counter: 0, site: last.site };
  return { wall: last.wall, counter: last.counter + 1, site: last.site };
}

/** Byte order, never locale order. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The SQL expression (SQLite) for the current wall time in ms, exact and without our functions. */
export const SQLITE_NOW_MS = "(CAST(strftime('%s','now') AS INTEGER) * 1000 + CAST(substr(strftime('%f','now'), 4, 3) AS INTEGER))";

/**
 * SQLite's tick of sync_state (tickHlc in SQL): every captured change runs it. SET expressions
 * all read the row as it was, and 'now' is fixed for the statement, so both CASEs agree.
 */
export const SQLITE_TICK = `UPDATE sync_state SET counter = CASE WHEN ${SQLITE_NOW_MS} > wall THEN 0 WHEN counter >= ${COUNTER_MAX} THEN 0 ELSE counter + 1 END, wall = CASE WHEN ${SQLITE_NOW_MS} > wall THEN ${SQLITE_NOW_MS} WHEN counter >= ${COUNTER_MAX} THEN wall + 1 ELSE wall END WHERE id = 1`;
