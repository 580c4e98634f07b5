import type { MachineStatus } from '../../core/vocabulary.ts';
import type { AppContext } from '../../context.ts';
import type { Span } from './calendar.ts';
import { runSpans } from './runs.ts';

/** A machine's state over time: its statuses, and `unknown` where the gateway was not running. */
export type MachineState = MachineStatus | 'unknown';
export const MACHINE_STATES = ['running', 'idle', 'down', 'maintenance', 'offline', 'unknown'] as const satisfies readonly MachineState[];

/** One stretch of one state, `from` included, `to` excluded (epoch ms). */
export interface StateInterval extends Span {
  state: MachineState;
}

/** A recorded status change: the machine is `state` from `at` on. */
export interface StateChange {
  at: number;
  state: MachineStatus;
}

/** What is known of the gateway's runs (see runSpans); undefined: nothing recorded, events alone count. */
export type KnownRuns = { runs: Span[]; firstStart: number } | undefined;

/**
 * The state intervals inside `span`, from status changes (sorted; the first may precede the span) and
 * the gateway's runs: time outside every run after the first one is `unknown`, as is time before the
 * machine's first recorded status. Adjacent intervals of one state are merged.
 */
export function deriveStates(changes: StateChange[], known: KnownRuns, span: Span): StateInterval[] {
  if (span.to <= span.from) return [];
  const cuts = new Set<number>([span.from, span.to]);
  for (const c of changes) if (c.at > span.from && c.at < span.to) cuts.add(c.at);
  for (const r of known?.runs ?? []) {
    for (const t of [r.from, r.to]) if (t > span.from && t < span.to) cuts.add(t);
  }
  if (known && known.firstStart > span.from && known.firstStart < span.to) cuts.add(known.firstStart);
  const points = [...cuts].sort((a, b) => a - b);
  const out: StateInterval[] = [];
  let next = 0;
  let current: MachineStatus | undefined;
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i] as number;
    const to = points[i + 1] as number;
    while (next < changes.length && (changes[next] as StateChange).at <= from) current = (changes[next++] as StateChange).state;
    const running = !known || from < known.firstStart || known.runs.some((r) => r.from <= from && from < r.to);
    const state: MachineState = running && current ? current : 'unknown';
    const last = out[out.length - 1];
    if (last && last.state === state && last.to === from) last.to = to;
    else out.push({ state, from, to });
  }
  return out;
}

/** Milliseconds per state inside `within` (sorted disjoint spans; the planned time, say). */
export function msByState(intervals: StateInterval[], within: Span[]): Record<MachineState, number> {
  const total = Object.fromEntries(MACHINE_STATES.map((s) => [s, 0])) as Record<MachineState, number>;
  for (const i of intervals) {
    for (const w of within) total[i.state] += Math.max(0, Math.min(i.to, w.to) - Math.max(i.from, w.from));
  }
  return total;
}

/** A machine's state intervals in `span` (clipped to now: the future is not measured yet). */
export function machineStates(ctx: Pick<AppContext, 'store' | 'clock'>, machineId: number, span: Span): StateInterval[] {
  const now = ctx.clock.now();
  const clipped = { from: span.from, to: Math.min(span.to, now) };
  if (clipped.to <= clipped.from) return [];
  const changes = ctx.store.sqlite
    .prepare(
      `SELECT occurred_at AS at, to_status AS state FROM events
       WHERE entity_type = 'machine' AND entity_id = ? AND kind IN ('machine.created', 'machine.status_changed') AND to_status IS NOT NULL
         AND occurred_at < ?
         AND occurred_at >= coalesce((SELECT max(occurred_at) FROM events WHERE entity_type = 'machine' AND entity_id = ?
           AND kind IN ('machine.created', 'machine.status_changed') AND occurred_at <= ?), 0)
       ORDER BY occurred_at, id`,
    )
    .all(machineId, clipped.to, machineId, clipped.from) as StateChange[];
  return deriveStates(changes, runSpans(ctx, clipped, now), clipped);
}
