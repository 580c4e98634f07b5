import type { AppContext } from '../../context.ts';
import type { StageRow } from '../../db/entities/stages.ts';
import { getStageRow } from './queries.ts';
import type { StageMetricsView } from './schemas.ts';

export const seconds = (ms: number) => Math.round(ms / 1000);
export const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;
export const pct = (num: number, den: number) => (den === 0 ? null : round((100 * num) / den, 2));

/** The figures of one stage, without its id and status. */
export type StageMetrics = Omit<StageMetricsView, 'stage_id' | 'status'>;

export function stageMetrics(s: StageRow, nowMs: number): StageMetrics {
  const done = s.status === 'done' && s.actualStart !== null && s.actualEnd !== null;
  const planned = s.plannedStart !== null && s.plannedEnd !== null ? seconds(s.plannedEnd - s.plannedStart) : null;
  const actual = done ? seconds((s.actualEnd as number) - (s.actualStart as number)) : null;
  // A stage paused right now counts its open pause up to now.
  const openPause = s.pausedSince !== null ? Math.max(0, nowMs - s.pausedSince) : 0;
  const endDelay = done && s.plannedEnd !== null ? seconds((s.actualEnd as number) - s.plannedEnd) : null;
  return {
    planned_duration_s: planned,
    actual_duration_s: actual,
    paused_s: seconds(s.pausedMs + openPause),
    start_delay_s: s.actualStart !== null && s.plannedStart !== null ? seconds(s.actualStart - s.plannedStart) : null,
    end_delay_s: endDelay,
    efficiency: planned !== null && actual !== null && actual > 0 ? round(planned / actual, 4) : null,
    on_time: endDelay === null ? null : endDelay <= 0,
  };
}

export function getStageMetrics(ctx: AppContext, stageId: number): StageMetricsView {
  const row = ctx.store.read(() => getStageRow(ctx, stageId));
  return { stage_id: row.id, status: row.status, ...stageMetrics(row, ctx.clock.now()) };
}
