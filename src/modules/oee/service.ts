import type { AppContext } from '../../context.ts';
import { notFound, validation } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { plannedSpans, plantDate, plantInstant, type ShiftInstance, type Span, shiftAt, shiftById, shiftsBetween } from './calendar.ts';
import { type CountItem, computeOee, counterDelta, type DowntimeSlice } from './figures.ts';
import type { MachineOeeView, OeeFiguresView } from './schemas.ts';
import { machineStates } from './states.ts';

/** The longest range one OEE request may cover (a month and a bit): larger ones are refused, not slow. */
export const MAX_RANGE_MS = 32 * 86_400_000;
const MAX_PERIODS = 200;

const spanView = (s: Span) => ({ from: iso(s.from) as string, to: iso(s.to) as string, ms: s.to - s.from });

/** The reason tree's loss of a leaf code (breakdown or setup); `unassigned` without a reason. */
export function lossOf(ctx: AppContext, code: string | null): DowntimeSlice['loss'] {
  if (code === null) return 'unassigned';
  return ctx.config.settings.oee.reasons.find((g) => g.code === code || g.children.some((c) => c.code === code))?.loss ?? 'breakdown';
}

interface MachineRow {
  id: number;
  name: string;
}

function machineRow(ctx: AppContext, id: number): MachineRow {
  const row = ctx.store.sqlite.prepare('SELECT id, name FROM machines WHERE id = ?').get(id) as MachineRow | undefined;
  if (!row) throw notFound('machine');
  return row;
}

function idealCycle(ctx: AppContext, machine: string, product: string | null): number | null {
  const ideal = ctx.config.settings.oee.ideal_cycle_s;
  return (product !== null ? ideal.products[product] : undefined) ?? ideal.machines[machine] ?? null;
}

/**
 * Pieces made on the machine in the span: its counter tags when configured, else its stages completed
 * then (a stage's pieces count when it is done); for one stage (work order OEE), that stage's pieces.
 */
function countsOf(ctx: AppContext, machine: MachineRow, span: Span, stageId: number | undefined): CountItem[] {
  const counter = ctx.config.settings.oee.counters[machine.name];
  if (counter && stageId === undefined) {
    const values = (type: string) =>
      ctx.store.sqlite
        .prepare(
          `SELECT value FROM machine_readings WHERE machine_id = ? AND reading_type = ? AND quality = 'good' AND value IS NOT NULL AND source_ts >= coalesce(
             (SELECT max(source_ts) FROM machine_readings WHERE machine_id = ? AND reading_type = ? AND quality = 'good' AND source_ts <= ?), ?)
           AND source_ts < ? ORDER BY source_ts, id`,
        )
        .pluck()
        .all(machine.id, type, machine.id, type, span.from, span.from, span.to) as number[];
    const good = counterDelta(values(counter.good), counter.wrap);
    const scrap = counter.scrap ? counterDelta(values(counter.scrap), counter.wrap) : 0;
    return [{ source: 'counter', stage_id: null, product_code: null, good, scrap, ideal_cycle_s: idealCycle(ctx, machine.name, null) }];
  }
  const rows = ctx.store.sqlite
    .prepare(
      `SELECT s.id, coalesce(s.qty_good, 0) AS good, coalesce(s.qty_scrap, 0) AS scrap, w.product_code AS product
       FROM stage_machines m JOIN work_order_stages s ON s.id = m.stage_id JOIN work_orders w ON w.id = s.work_order_id
       WHERE m.machine_id = ? AND s.status = 'done' AND (s.id = ? OR (? IS NULL AND s.actual_end >= ? AND s.actual_end < ?))
       ORDER BY s.actual_end, s.id`,
    )
    .all(machine.id, stageId ?? null, stageId ?? null, span.from, span.to) as Array<{ id: number; good: number; scrap: number; product: string }>;
  return rows.map((r) => ({
    source: 'stage',
    stage_id: r.id,
    product_code: r.product,
    good: r.good,
    scrap: r.scrap,
    ideal_cycle_s: idealCycle(ctx, machine.name, r.product),
  }));
}

function downtimeSlices(ctx: AppContext, machineId: number, span: Span): DowntimeSlice[] {
  const rows = ctx.store.sqlite
    .prepare(
      `SELECT id, started_at AS "from", coalesce(ended_at, ?) AS "to", reason_code AS reasonCode FROM downtimes
       WHERE machine_id = ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?) ORDER BY started_at`,
    )
    .all(span.to, machineId, span.to, span.from) as Array<{ id: number; from: number; to: number; reasonCode: string | null }>;
  return rows.map((r) => ({
    id: r.id,
    from: Math.max(r.from, span.from),
    to: Math.min(r.to, span.to),
    reason_code: r.reasonCode,
    loss: lossOf(ctx, r.reasonCode),
  }));
}

/** OEE of one machine over one span, with every input it came from. */
export function figuresFor(ctx: AppContext, machine: MachineRow, asked: Span, stageId?: number): OeeFiguresView {
  const now = ctx.clock.now();
  const span = { from: asked.from, to: Math.max(asked.from, Math.min(asked.to, now)) };
  const planned = plannedSpans(ctx.config.settings.oee.shifts, span, ctx.config.plantTz);
  const states = machineStates(ctx, machine.id, span);
  const counts = countsOf(ctx, machine, span, stageId);
  const downtimes = downtimeSlices(ctx, machine.id, span);
  const f = computeOee({ planned, states, counts, downtimes });
  return {
    from: iso(asked.from) as string,
    to: iso(asked.to) as string,
    measured_to: iso(span.to) as string,
    ...f,
    inputs: {
      planned: planned.map(spanView),
      states: states.map((s) => ({ state: s.state, ...spanView(s) })),
      counts,
      downtimes: downtimes.map((d) => ({ id: d.id, reason_code: d.reason_code, loss: d.loss, ...spanView(d) })),
    },
  };
}

function checkRange(from: number, to: number): void {
  if (to <= from) throw validation('to', 'must be after from');
  if (to - from > MAX_RANGE_MS) throw validation('to', `the range may cover at most ${MAX_RANGE_MS / 86_400_000} days`);
}

/** Periods of a range: each shift instance, or each plant-local day (midnight to midnight). */
function periodsOf(ctx: AppContext, span: Span, by: 'shift' | 'day'): Array<Span & { label: string }> {
  const tz = ctx.config.plantTz;
  if (by === 'shift') {
    return shiftsBetween(ctx.config.settings.oee.shifts, span, tz).map((s) => ({
      label: s.id,
      from: Math.max(s.start, span.from),
      to: Math.min(s.end, span.to),
    }));
  }
  const days: Array<Span & { label: string }> = [];
  let from = span.from;
  while (from < span.to && days.length < MAX_PERIODS) {
    const date = plantDate(from, tz);
    const next = dayStart(date, 1, tz);
    days.push({ label: date, from, to: Math.min(next, span.to) });
    from = next;
  }
  return days;
}

/** GET /machines/{id}/oee?from&to[&by=shift|day]. */
export function machineOee(ctx: AppContext, machineId: number, q: { from: number; to: number; by?: 'shift' | 'day' | undefined }): MachineOeeView {
  checkRange(q.from, q.to);
  return ctx.store.read(() => {
    const machine = machineRow(ctx, machineId);
    const span = { from: q.from, to: q.to };
    const periods = q.by ? periodsOf(ctx, span, q.by) : [];
    if (periods.length > MAX_PERIODS) throw validation('by', `the range holds more than ${MAX_PERIODS} shifts; ask for a shorter range`);
    return {
      machine_id: machine.id,
      machine_name: machine.name,
      ...figuresFor(ctx, machine, span),
      periods: periods.map((p) => ({ label: p.label, ...figuresFor(ctx, machine, p) })),
    };
  });
}

/** The shift an OEE request names: `current`, or `<date>/<name>`; a 404 when no shift is planned then. */
export function resolveShift(ctx: AppContext, shift: string): ShiftInstance {
  const { shifts } = ctx.config.settings.oee;
  const tz = ctx.config.plantTz;
  const found = shift === 'current' ? shiftAt(shifts, ctx.clock.now(), tz) : shiftById(shifts, shift, tz);
  if (!found) throw notFound(shift === 'current' ? 'running shift' : `shift ${shift}`);
  return found;
}

/** GET /oee?shift=…: every machine's OEE over one shift. */
export function shiftOee(ctx: AppContext, shift: string): { shift: string; start: string; end: string; planned_ms: number; machines: MachineOeeView[] } {
  const s = resolveShift(ctx, shift);
  return ctx.store.read(() => {
    const machines = ctx.store.sqlite.prepare('SELECT id, name FROM machines ORDER BY id').all() as MachineRow[];
    const span = { from: s.start, to: s.end };
    return {
      shift: s.id,
      start: iso(s.start) as string,
      end: iso(s.end) as string,
      planned_ms: s.plannedMs,
      machines: machines.map((m) => ({ machine_id: m.id, machine_name: m.name, ...figuresFor(ctx, m, span), periods: [] })),
    };
  });
}

/** GET /workorders/{id}/oee: each stage that names its machine, over the stage's own run (start to end, or now). */
export function workOrderOee(ctx: AppContext, workOrderId: number) {
  return ctx.store.read(() => {
    const wo = ctx.store.sqlite.prepare('SELECT id FROM work_orders WHERE id = ?').get(workOrderId);
    if (!wo) throw notFound('work order');
    const stages = ctx.store.sqlite
      .prepare(
        `SELECT s.id, s.stage_name AS name, s.actual_start AS start, s.actual_end AS "end", m.machine_id AS machineId, mc.name AS machineName
         FROM work_order_stages s JOIN stage_machines m ON m.stage_id = s.id JOIN machines mc ON mc.id = m.machine_id
         WHERE s.work_order_id = ? AND s.actual_start IS NOT NULL ORDER BY s.seq`,
      )
      .all(workOrderId) as Array<{ id: number; name: string; start: number; end: number | null; machineId: number; machineName: string }>;
    const now = ctx.clock.now();
    return {
      work_order_id: workOrderId,
      stages: stages.map((st) => ({
        stage_id: st.id,
        stage_name: st.name,
        machine_id: st.machineId,
        machine_name: st.machineName,
        ...figuresFor(ctx, { id: st.machineId, name: st.machineName }, { from: st.start, to: st.end ?? now }, st.id),
      })),
    };
  });
}

/** Plant-local midnight `plusDays` after `date`. */
function dayStart(date: string, plusDays: number, tz: string): number {
  const d = new Date(Date.parse(`${date}T00:00:00Z`) + plusDays * 86_400_000).toISOString().slice(0, 10);
  return plantInstant(d, '00:00', tz);
}
