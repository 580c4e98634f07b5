import { overlapMs, type Span } from './calendar.ts';
import { type MachineState, msByState, type StateInterval } from './states.ts';

/** Good and scrap pieces from one source, with the ideal cycle time that applies to them. */
export interface CountItem {
  /** A stage's completed quantities, or a machine's counter tags. */
  source: 'stage' | 'counter';
  stage_id: number | null;
  product_code: string | null;
  good: number;
  scrap: number;
  /** Seconds per piece at the ideal rate; null when none is configured (performance is then unknown). */
  ideal_cycle_s: number | null;
}

/** A downtime record's stretch, with the loss its reason belongs to (`unassigned` without a reason). */
export interface DowntimeSlice extends Span {
  id: number;
  reason_code: string | null;
  loss: 'breakdown' | 'setup' | 'unassigned';
}

export interface OeeInputs {
  planned: Span[];
  states: StateInterval[];
  counts: CountItem[];
  downtimes: DowntimeSlice[];
}

/** The figures, each with the inputs it came from (all times in ms inside planned time). */
export interface OeeFigures {
  planned_ms: number;
  run_ms: number;
  /** Planned time per machine state (`running` is the run time). */
  state_ms: Record<MachineState, number>;
  good: number;
  scrap: number;
  total: number;
  /** Σ ideal cycle time × pieces: the time the pieces would take at the ideal rate. */
  ideal_ms: number | null;
  availability: number | null;
  performance: number | null;
  quality: number | null;
  oee: number | null;
  losses: {
    /** Six big losses: breakdowns, setup and adjustments (downtime records by their reason's loss). */
    breakdown_ms: number;
    setup_ms: number;
    /** Downtime records nobody has given a reason yet. */
    unassigned_ms: number;
    /** Stops in planned time too short for a downtime record (minor stops). */
    short_stop_ms: number;
    /** Planned time the gateway was not running (or the machine did not exist): not known to be run time. */
    unknown_ms: number;
    /** Reduced speed: run time beyond the ideal time of all pieces (negative when faster than ideal). */
    speed_loss_ms: number | null;
    /** Scrap (start-up and production rejects together): the ideal time spent on bad pieces. */
    scrap_loss_ms: number | null;
    by_reason: Array<{ reason_code: string | null; ms: number }>;
  };
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

/**
 * OEE as the issue defines it: A = run / planned, P = ideal cycle × total / run, Q = good / total,
 * OEE = A × P × Q (which equals ideal time of the good pieces / planned time).
 */
export function computeOee(input: OeeInputs): OeeFigures {
  const planned_ms = input.planned.reduce((sum, p) => sum + (p.to - p.from), 0);
  const state_ms = msByState(input.states, input.planned);
  const run_ms = state_ms.running;
  const good = input.counts.reduce((sum, c) => sum + c.good, 0);
  const scrap = input.counts.reduce((sum, c) => sum + c.scrap, 0);
  const total = good + scrap;
  const known = input.counts.every((c) => c.ideal_cycle_s !== null || c.good + c.scrap === 0);
  const idealOf = (pick: (c: CountItem) => number) => input.counts.reduce((sum, c) => sum + Math.round((c.ideal_cycle_s ?? 0) * 1000 * pick(c)), 0);
  const ideal_ms = known ? idealOf((c) => c.good + c.scrap) : null;
  const availability = ratio(run_ms, planned_ms);
  const performance = ideal_ms === null ? null : ratio(ideal_ms, run_ms);
  const quality = ratio(good, total);
  const oee = availability !== null && performance !== null && quality !== null ? availability * performance * quality : null;

  const byLoss = { breakdown: 0, setup: 0, unassigned: 0 };
  const byReason = new Map<string | null, number>();
  for (const d of input.downtimes) {
    const ms = overlapMs([d], input.planned);
    byLoss[d.loss] += ms;
    byReason.set(d.reason_code, (byReason.get(d.reason_code) ?? 0) + ms);
  }
  const stop_ms = state_ms.idle + state_ms.down + state_ms.maintenance + state_ms.offline;
  return {
    planned_ms,
    run_ms,
    state_ms,
    good,
    scrap,
    total,
    ideal_ms,
    availability,
    performance,
    quality,
    oee,
    losses: {
      breakdown_ms: byLoss.breakdown,
      setup_ms: byLoss.setup,
      unassigned_ms: byLoss.unassigned,
      short_stop_ms: stop_ms - byLoss.breakdown - byLoss.setup - byLoss.unassigned,
      unknown_ms: state_ms.unknown,
      speed_loss_ms: ideal_ms === null ? null : run_ms - ideal_ms,
      scrap_loss_ms: known ? idealOf((c) => c.scrap) : null,
      by_reason: [...byReason].map(([reason_code, ms]) => ({ reason_code, ms })).sort((a, b) => b.ms - a.ms),
    },
  };
}

/**
 * Pieces counted by a counter tag from its successive values: rises add up. A drop from the upper half
 * of a counter with a `wrap` is a wrap (it went on from 0 after `wrap − 1`); any other drop is a reset
 * (an operator or a PLC restart set it to 0, so the new value is what was counted since).
 */
export function counterDelta(values: number[], wrap: number | undefined): number {
  let total = 0;
  for (let i = 1; i < values.length; i++) {
    const prev = values[i - 1] as number;
    const cur = values[i] as number;
    if (cur >= prev) total += cur - prev;
    else total += wrap !== undefined && prev >= wrap / 2 && prev < wrap ? wrap - prev + cur : cur;
  }
  return total;
}
