import type { StageStatus } from '../../core/vocabulary.ts';
import { deriveStatus } from '../stages/service.ts';
import { byLegacyId, type ImportCtx } from './import-users.ts';
import type { LegacyDb, LegacyRow } from './legacy-db.ts';
import { type ImportReport, skip } from './report.ts';
import { int, stageStatus, text, time } from './values.ts';

/** Work orders with planned times; their status is derived from the stages, as everywhere else. */
export function importWorkOrders(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport): Map<number, number> {
  const map = new Map<number, number>();
  for (const row of legacy.rows('work_orders')) {
    const legacyId = int(row.id);
    if (legacyId === undefined) {
      skip(report, 'work_orders', String(row.id), 'id is not an integer');
      continue;
    }
    const done = byLegacyId(ctx, 'work_orders', legacyId);
    if (done !== undefined) {
      map.set(legacyId, done);
      report.counts.work_orders.already++;
      report.mapping.work_orders.push({ legacyId, id: done, how: 'already' });
      continue;
    }
    const productCode = text(row.product_code)?.trim();
    const lotNo = text(row.lot_no)?.trim();
    const qty = int(row.qty);
    const start = time(row.planned_start, ctx.plantTz, 'planned_start', true);
    const end = time(row.planned_end, ctx.plantTz, 'planned_end', true);
    const problem = !productCode
      ? 'product_code is missing'
      : !lotNo
        ? 'lot_no is missing'
        : qty === undefined || qty < 1
          ? `qty '${String(row.qty)}' is not a positive integer`
          : !start.ok
            ? start.reason
            : !end.ok
              ? end.reason
              : (end.value ?? 0) < (start.value ?? 0)
                ? 'planned_end is before planned_start'
                : undefined;
    if (problem || !productCode || !lotNo || qty === undefined || !start.ok || !end.ok || start.value === null || end.value === null) {
      skip(report, 'work_orders', legacyId, problem ?? 'invalid');
      continue;
    }
    const now = ctx.clock.now();
    const id = ctx.store.ids.next('work_orders');
    ctx.tx.workOrders.insert({
      id,
      productCode,
      lotNo,
      qty,
      plannedStart: start.value,
      plannedEnd: end.value,
      status: 'planned',
      createdAt: now,
      updatedAt: now,
      legacyId,
    });
    ctx.tx.emit({
      kind: 'work_order.created',
      entityType: 'work_order',
      entityId: id,
      workOrderId: id,
      toStatus: 'planned',
      data: { product_code: productCode, lot_no: lotNo, qty, imported_from: 'fastapi', legacy_id: legacyId },
    });
    map.set(legacyId, id);
    report.counts.work_orders.imported++;
    report.mapping.work_orders.push({ legacyId, id, how: 'imported' });
  }
  return map;
}

const STAGE_EVENTS: Array<{ when: (s: StageStatus) => boolean; kind: string; from: StageStatus; to: StageStatus; at: 'start' | 'end' }> = [
  { when: (s) => s !== 'planned', kind: 'stage.started', from: 'planned', to: 'in_progress', at: 'start' },
  { when: (s) => s === 'paused', kind: 'stage.paused', from: 'in_progress', to: 'paused', at: 'start' },
  { when: (s) => s === 'done', kind: 'stage.done', from: 'in_progress', to: 'done', at: 'end' },
];

/**
 * Stages in the old ids' order within each work order: seq is the rank of the old id among all
 * the order's old stages, so a stage skipped now keeps its place when imported by a later run.
 * The history is written as the events the floor would have produced (started, paused, done).
 */
export function importStages(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport, workOrderIds: Map<number, number>): Map<number, number> {
  const map = new Map<number, number>();
  const byOrder = new Map<number, LegacyRow[]>();
  for (const row of legacy.rows('work_order_stages')) {
    const wo = int(row.work_order_id) ?? Number.NaN;
    byOrder.set(wo, [...(byOrder.get(wo) ?? []), row]);
  }
  const touched = new Set<number>();
  for (const [legacyWo, rows] of byOrder) {
    for (const [index, row] of rows.entries()) {
      const legacyId = int(row.id);
      if (legacyId === undefined) {
        skip(report, 'work_order_stages', String(row.id), 'id is not an integer');
        continue;
      }
      const done = byLegacyId(ctx, 'work_order_stages', legacyId);
      if (done !== undefined) {
        map.set(legacyId, done);
        report.counts.work_order_stages.already++;
        report.mapping.work_order_stages.push({ legacyId, id: done, how: 'already' });
        continue;
      }
      const workOrderId = workOrderIds.get(legacyWo);
      if (workOrderId === undefined) {
        skip(report, 'work_order_stages', legacyId, `work order ${String(row.work_order_id)} was not imported`);
        continue;
      }
      const stageName = text(row.stage_name)?.trim();
      if (!stageName) {
        skip(report, 'work_order_stages', legacyId, 'stage_name is missing');
        continue;
      }
      const status = stageStatus(row.status);
      if (!status.ok) {
        skip(report, 'work_order_stages', legacyId, status.reason);
        continue;
      }
      const times = (['planned_start', 'planned_end', 'actual_start', 'actual_end'] as const).map((c) => time(row[c] ?? null, ctx.plantTz, c, false));
      const bad = times.find((t) => !t.ok);
      if (bad && !bad.ok) {
        skip(report, 'work_order_stages', legacyId, bad.reason);
        continue;
      }
      const [plannedStart, plannedEnd, actualStart, actualEnd] = times.map((t) => (t.ok ? t.value : null));
      const now = ctx.clock.now();
      const id = ctx.store.ids.next('work_order_stages');
      ctx.tx.stages.insert({
        id,
        workOrderId,
        seq: index + 1,
        stageName,
        plannedStart: plannedStart ?? null,
        plannedEnd: plannedEnd ?? null,
        actualStart,
        actualEnd,
        status: status.value,
        statusChangedAt: actualEnd ?? actualStart ?? null,
        createdAt: now,
        updatedAt: now,
        legacyId,
      });
      for (const e of STAGE_EVENTS.filter((x) => x.when(status.value))) {
        ctx.tx.emit({
          kind: e.kind,
          entityType: 'stage',
          entityId: id,
          workOrderId,
          fromStatus: e.from,
          toStatus: e.to,
          occurredAt: (e.at === 'start' ? actualStart : actualEnd) ?? actualStart ?? now,
          data: { stage_name: stageName, seq: index + 1, imported_from: 'fastapi', legacy_id: legacyId },
        });
      }
      touched.add(workOrderId);
      map.set(legacyId, id);
      report.counts.work_order_stages.imported++;
      report.mapping.work_order_stages.push({ legacyId, id, how: 'imported' });
    }
  }
  for (const workOrderId of touched) refreshStatus(ctx, workOrderId);
  return map;
}

function refreshStatus(ctx: ImportCtx, workOrderId: number): void {
  const stages = ctx.tx.stages.ofWorkOrder(workOrderId);
  const wo = ctx.tx.workOrders.byId(workOrderId);
  const next = deriveStatus(stages.map((r) => r.status));
  if (!wo || wo.status === next) return;
  ctx.tx.workOrders.setStatus(workOrderId, next, ctx.clock.now());
  ctx.tx.emit({ kind: 'work_order.status_changed', entityType: 'work_order', entityId: workOrderId, workOrderId, fromStatus: wo.status, toStatus: next });
}
