import type { AppContext } from '../../context.ts';
import { stageMetrics } from '../stages/metrics.ts';
import type { WorkOrderMetrics } from './schemas.ts';
import { getWorkOrderRow } from './service.ts';

import { pct, round, seconds } from '../stages/metrics.ts';

/** Work-order figures from its stages (API.md's formulas); percentages 2 decimals. */
export function getWorkOrderMetrics(ctx: AppContext, workOrderId: number): WorkOrderMetrics {
  return ctx.store.read(() => {
    const wo = getWorkOrderRow(ctx, workOrderId);
    const stages = ctx.store.data.stages.ofWorkOrder(workOrderId);
    const now = ctx.clock.now();
    const done = stages.filter((s) => s.status === 'done');
    const doneMetrics = done.map((s) => stageMetrics(s, now));
    const onTime = doneMetrics.filter((m) => m.on_time === true).length;
    const timed = doneMetrics.filter((m) => m.planned_duration_s !== null && m.actual_duration_s !== null);
    const sumPlanned = timed.reduce((a, m) => a + (m.planned_duration_s ?? 0), 0);
    const sumActual = timed.reduce((a, m) => a + (m.actual_duration_s ?? 0), 0);
    const last = stages[stages.length - 1];
    const allDone = stages.length > 0 && done.length === stages.length;
    const openIssues = ctx.store.data.issues.openOfWorkOrder(workOrderId);
    const good = last?.qtyGood ?? null;
    const scrap = last?.qtyScrap ?? null;
    return {
      work_order_id: wo.id,
      stages_total: stages.length,
      stages_done: done.length,
      stages_in_progress: stages.filter((s) => s.status === 'in_progress').length,
      stages_paused: stages.filter((s) => s.status === 'paused').length,
      progress_pct: pct(done.length, stages.length),
      on_time_pct: pct(onTime, done.length),
      efficiency: sumActual > 0 ? round(sumPlanned / sumActual, 4) : null,
      end_delay_s: allDone && last?.actualEnd != null ? seconds(last.actualEnd - wo.plannedEnd) : null,
      open_issues: openIssues,
      qty_good: good,
      qty_scrap: scrap,
      yield_pct: good === null && scrap === null ? null : pct(good ?? 0, (good ?? 0) + (scrap ?? 0)),
    };
  });
}
