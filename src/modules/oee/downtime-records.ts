import type { AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import type { Role } from '../../core/vocabulary.ts';
import { reportIssue } from '../issues/service.ts';
import { overlapMs, plannedSpans, type Span } from './calendar.ts';
import { machineStates, type StateInterval } from './states.ts';

const STOPPED = new Set(['idle', 'down', 'maintenance', 'offline']);
/** How far back stops are looked for when no downtime record is open (a first start, an upgrade, a quiet day). */
const FIRST_LOOKBACK_MS = 24 * 3_600_000;

/** A stop: consecutive stopped states (idle, down, maintenance, offline); `unknown` and `running` end it. */
export interface Stop extends Span {
  state: string;
  /** True when the machine is still stopped at the end of the intervals (now). */
  ongoing: boolean;
}

/** The stops in a machine's state intervals. */
export function stopsOf(intervals: StateInterval[], now: number): Stop[] {
  const stops: Stop[] = [];
  let open: Stop | undefined;
  for (const i of intervals) {
    if (STOPPED.has(i.state)) {
      if (open && open.to === i.from) open.to = i.to;
      else {
        open = { from: i.from, to: i.to, state: i.state, ongoing: false };
        stops.push(open);
      }
    } else open = undefined;
  }
  const last = stops[stops.length - 1];
  if (last && last.to >= now) last.ongoing = true;
  return stops;
}

/** The stops that are downtime: at least `thresholdMs` of them inside planned time. */
export function downtimeStops(stops: Stop[], planned: Span[], thresholdMs: number): Stop[] {
  return stops.filter((s) => overlapMs([s], planned) >= thresholdMs);
}

/**
 * Brings one machine's downtime records up to date: each stop with at least the threshold inside
 * planned time is a record keyed by (machine, start); an ongoing one has no end yet. Re-derives from
 * an open record's start (else the last record's end, at most a day back), so running it again
 * changes nothing. Returns the ids of records created or changed.
 */
export function reconcileDowntimes(ctx: AppContext, machineId: number): number[] {
  const { oee } = ctx.config.settings;
  if (oee.shifts.length === 0) return [];
  const now = ctx.clock.now();
  const sqlite = ctx.store.sqlite;
  const latest = sqlite
    .prepare('SELECT started_at AS startedAt, ended_at AS endedAt FROM downtimes WHERE machine_id = ? ORDER BY started_at DESC LIMIT 1')
    .get(machineId) as { startedAt: number; endedAt: number | null } | undefined;
  // An open record is derived again from its start (same key); otherwise from the last record's end,
  // looking back at most a day, so a pass stays cheap however long ago the last stop was.
  const from = latest && latest.endedAt === null ? latest.startedAt : Math.max(latest?.endedAt ?? 0, now - FIRST_LOOKBACK_MS);
  const span = { from, to: now };
  const planned = plannedSpans(oee.shifts, span, ctx.config.plantTz);
  const stops = downtimeStops(stopsOf(machineStates(ctx, machineId, span), now), planned, oee.downtime.threshold_s * 1000);
  if (stops.length === 0) return [];
  const limitMs = oee.downtime.open_issue_after_s * 1000;
  return ctx.store.commandNow((tx) => {
    const find = sqlite.prepare('SELECT id, ended_at AS endedAt, issue_id AS issueId FROM downtimes WHERE machine_id = ? AND started_at = ?');
    const insert = sqlite.prepare('INSERT INTO downtimes (id, machine_id, started_at, ended_at, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const close = sqlite.prepare('UPDATE downtimes SET ended_at = ?, updated_at = ? WHERE id = ?');
    const changed: number[] = [];
    for (const s of stops) {
      const end = s.ongoing ? null : s.to;
      const row = find.get(machineId, s.from) as { id: number; endedAt: number | null; issueId: number | null } | undefined;
      let id = row?.id;
      if (id === undefined) {
        id = ctx.store.ids.next('downtimes');
        insert.run(id, machineId, s.from, end, s.state, now, now);
        changed.push(id);
      } else if (row?.endedAt !== end) {
        close.run(end, now, id);
        changed.push(id);
      }
      if (limitMs > 0 && !row?.issueId && overlapMs([s], planned) >= limitMs) openIssueFor(ctx, tx, machineId, id, s);
    }
    return changed;
  });
}

/**
 * A downtime past `open_issue_after_s` opens a machine_breakdown issue on the stage running on the
 * machine, reported in the name of whoever started that stage. No running stage (or no starter): none.
 */
function openIssueFor(ctx: AppContext, tx: Tx, machineId: number, downtimeId: number, stop: Stop): void {
  const sqlite = ctx.store.sqlite;
  const stage = sqlite
    .prepare(
      `SELECT s.id, (SELECT e.actor_user_id FROM events e WHERE e.entity_type = 'stage' AND e.entity_id = s.id AND e.kind = 'stage.started'
         ORDER BY e.id DESC LIMIT 1) AS starter
       FROM stage_machines m JOIN work_order_stages s ON s.id = m.stage_id
       WHERE m.machine_id = ? AND s.status IN ('in_progress', 'paused') ORDER BY s.actual_start DESC LIMIT 1`,
    )
    .get(machineId) as { id: number; starter: number | null } | undefined;
  if (!stage || stage.starter === null) return;
  const user = sqlite.prepare('SELECT id, role FROM users WHERE id = ? AND active = 1').get(stage.starter) as { id: number; role: Role } | undefined;
  if (!user) return;
  const minutes = Math.round((ctx.clock.now() - stop.from) / 60_000);
  try {
    const issue = reportIssue(ctx, tx, { userId: user.id, role: user.role }, stage.id, {
      type: 'machine_breakdown',
      description: `Machine stopped (${stop.state}) for ${minutes} min since ${new Date(stop.from).toISOString()} (downtime ${downtimeId}, opened by the gateway)`,
    });
    sqlite.prepare('UPDATE downtimes SET issue_id = ? WHERE id = ?').run(issue.id, downtimeId);
  } catch (err) {
    ctx.logger.warn({ err, module: 'oee', downtime: downtimeId }, 'downtime issue not opened');
  }
}

/** Reconciles every machine (the worker's timer). */
export function reconcileAllDowntimes(ctx: AppContext): number[] {
  const ids = ctx.store.sqlite.prepare('SELECT id FROM machines ORDER BY id').pluck().all() as number[];
  return ids.flatMap((id) => reconcileDowntimes(ctx, id));
}
