import type { Database } from 'better-sqlite3';
import { formatHlc, SQLITE_NOW_MS } from './hlc.ts';
import { getMeta, observeClock, setMeta } from './state.ts';

/**
 * The edge's wall clock against its own hybrid clock and against HQ's. A wall clock behind the
 * last clock value leaves every change to the counter (ordered, but not by time: such a write
 * loses to HQ writes it never saw that were made up to that much earlier); one ahead of HQ's
 * makes its writes win over HQ writes made up to that much later. Both are reported past a limit.
 */
export interface ClockSkew {
  /** How far the wall clock is behind the last clock value the edge issued or received (≥ 0). */
  behind_ms: number;
  /** Wall clock minus HQ's clock at the last pull (positive: the edge is ahead); null before one. */
  hq_offset_ms: number | null;
  /** SYNC_CLOCK_SKEW_LIMIT_MS. */
  limit_ms: number;
  /** behind_ms, or hq_offset_ms less half the round trip, is past the limit. */
  exceeded: boolean;
  checked_at: string;
}

/** The wall clock the capture triggers stamp with: SQLite's 'now', in ms. */
export function sqliteNowMs(sqlite: Database): number {
  return (sqlite.prepare(`SELECT ${SQLITE_NOW_MS} AS t`).get() as { t: number }).t;
}

/**
 * Records HQ's clock as the pull read it, and receives it like a pulled clock: the edge's next
 * write is clocked after every HQ write stamped before this moment, even when the edge's wall
 * clock is behind HQ's and the pull brought none of them.
 */
export function observeHqClock(sqlite: Database, hq: { hqMs: number; localMs: number; roundTripMs: number }): void {
  const wall = Math.floor(hq.hqMs);
  setMeta(sqlite, 'hq_clock', JSON.stringify({ offset_ms: Math.round(hq.localMs - hq.hqMs), uncertainty_ms: Math.ceil(hq.roundTripMs / 2) }));
  observeClock(sqlite, formatHlc({ wall, counter: 0, site: 0 }));
}

/** Compares the clocks now, stores the result for GET /sync/status and returns it. */
export function checkClockSkew(sqlite: Database, limitMs: number, at: number): ClockSkew {
  const wall = (sqlite.prepare('SELECT wall FROM sync_state WHERE id = 1').get() as { wall: number } | undefined)?.wall ?? 0;
  const behind = Math.max(0, wall - sqliteNowMs(sqlite));
  const hqText = getMeta(sqlite, 'hq_clock');
  const hq = hqText ? (JSON.parse(hqText) as { offset_ms: number; uncertainty_ms: number }) : undefined;
  const skew: ClockSkew = {
    behind_ms: behind,
    hq_offset_ms: hq ? hq.offset_ms : null,
    limit_ms: limitMs,
    exceeded: behind > limitMs || (hq !== undefined && hq.offset_ms - hq.uncertainty_ms > limitMs),
    checked_at: new Date(at).toISOString(),
  };
  setMeta(sqlite, 'clock_skew', JSON.stringify(skew));
  return skew;
}

export function readClockSkew(sqlite: Database): ClockSkew | null {
  const text = getMeta(sqlite, 'clock_skew');
  return text ? (JSON.parse(text) as ClockSkew) : null;
}

/** SYNC_CLOCK_SKEW_LIMIT_MS's default. */
export const DEFAULT_CLOCK_SKEW_LIMIT_MS = 60_000;
