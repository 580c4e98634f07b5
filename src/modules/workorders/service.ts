import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import type { Store } from '../../db/store.ts';
import { type WorkOrderFilter, type WorkOrderRow, type WorkOrderViewTuple, workOrderViewOfTuple } from '../../db/entities/work-orders.ts';
import type { Page } from '../../db/keyset.ts';
import { notFound } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { type JsonPage, type JsonText, RowJsonCache } from '../../http/json-rows.ts';
import { linkStageMachine } from '../oee/stage-machines.ts';
import { stagesOfWorkOrder } from '../stages/queries.ts';
import type { StageView } from '../stages/schemas.ts';
import type { WorkOrderView } from './schemas.ts';

export type { WorkOrderFilter } from '../../db/entities/work-orders.ts';

export interface CreateWorkOrderInput {
  product_code: string;
  lot_no: string;
  qty: number;
  planned_start: number;
  planned_end: number;
  stages?:
    | Array<{ stage_name: string; planned_start?: number | undefined; planned_end?: number | undefined; machine_id?: number | null | undefined }>
    | undefined;
}

/** Splits [start, end) evenly over the template's stage names, in order; the last ends exactly at end. */
export function splitWindow(names: string[], start: number, end: number) {
  const step = (end - start) / names.length;
  return names.map((stage_name, i) => ({
    stage_name,
    planned_start: Math.round(start + i * step),
    planned_end: i === names.length - 1 ? end : Math.round(start + (i + 1) * step),
  }));
}

/** POST /workorders: the order and its stages (explicit, or the configured template) in one transaction. */
export function createWorkOrder(ctx: AppContext, tx: Tx, actor: Actor, input: CreateWorkOrderInput): WorkOrderView & { stages: StageView[] } {
  const plan: NonNullable<CreateWorkOrderInput['stages']> =
    input.stages ?? splitWindow(ctx.config.settings.stage_template, input.planned_start, input.planned_end);
  const now = ctx.clock.now();
  const id = ctx.store.ids.next('work_orders');
  tx.workOrders.insert({
    id,
    productCode: input.product_code,
    lotNo: input.lot_no,
    qty: input.qty,
    plannedStart: input.planned_start,
    plannedEnd: input.planned_end,
    status: 'planned',
    createdBy: actor.userId,
    createdAt: now,
    updatedAt: now,
  });
  const firstStageId = ctx.store.ids.block('work_order_stages', plan.length);
  // New stages are planned and assigned to nobody: the reply is built from what was inserted.
  const stages: StageView[] = plan.map((s, i) => {
    const stageId = firstStageId + i;
    const plannedStart = s.planned_start ?? null;
    const plannedEnd = s.planned_end ?? null;
    tx.stages.insert({
      id: stageId,
      workOrderId: id,
      seq: i + 1,
      stageName: s.stage_name,
      plannedStart,
      plannedEnd,
      status: 'planned',
      createdAt: now,
      updatedAt: now,
    });
    const machineId = s.machine_id ?? null;
    if (machineId !== null) linkStageMachine(ctx, stageId, machineId, actor.userId, `stages.${i}.machine_id`);
    return {
      id: stageId,
      work_order_id: id,
      seq: i + 1,
      stage_name: s.stage_name,
      planned_start: iso(s.planned_start),
      planned_end: iso(s.planned_end),
      actual_start: null,
      actual_end: null,
      status: 'planned',
      qty_good: null,
      qty_scrap: null,
      assigned_user_ids: [],
      machine_id: machineId,
    };
  });
  tx.emit({
    kind: 'work_order.created',
    entityType: 'work_order',
    entityId: id,
    workOrderId: id,
    toStatus: 'planned',
    actorUserId: actor.userId,
    requestId: actor.requestId ?? null,
    data: { product_code: input.product_code, lot_no: input.lot_no, qty: input.qty, stages: plan.length },
  });
  return {
    id,
    product_code: input.product_code,
    lot_no: input.lot_no,
    qty: input.qty,
    planned_start: iso(input.planned_start),
    planned_end: iso(input.planned_end),
    status: 'planned',
    created_at: iso(now),
    updated_at: iso(now),
    stages,
  };
}

/** The work order, or NOT_FOUND. */
export function getWorkOrderRow(ctx: Pick<AppContext, 'store'>, id: number): WorkOrderRow {
  const row = ctx.store.data.workOrders.byId(id);
  if (!row) throw notFound('work order');
  return row;
}

export function getWorkOrder(ctx: AppContext, id: number): WorkOrderView {
  return ctx.store.read(() => {
    const view = ctx.store.data.workOrders.viewById(id);
    if (!view) throw notFound('work order');
    return view;
  });
}

export function listStagesOf(ctx: AppContext, actor: Actor, id: number): StageView[] {
  return ctx.store.read(() => {
    getWorkOrderRow(ctx, id);
    return stagesOfWorkOrder(ctx, id, actor);
  });
}

/** GET /workorders: ordered by planned_start, then id; planned_from/planned_to bound planned_start. */
export function listWorkOrders(ctx: AppContext, f: WorkOrderFilter): Page<WorkOrderView> {
  return ctx.store.read(() => ctx.store.data.workOrders.viewPage(f));
}

/** The row JSON cache of work orders (json-rows.ts), one per store. */
const jsonCaches = new WeakMap<Store, RowJsonCache<WorkOrderViewTuple, WorkOrderView>>();
function jsonCache(store: Store): RowJsonCache<WorkOrderViewTuple, WorkOrderView> {
  let cache = jsonCaches.get(store);
  if (!cache) {
    cache = new RowJsonCache<WorkOrderViewTuple, WorkOrderView>(workOrderViewOfTuple);
    jsonCaches.set(store, cache);
  }
  return cache;
}

/** getWorkOrder and listWorkOrders as JSON text, the same bytes (the API's answers; json-rows.ts). */
export function getWorkOrderJson(ctx: AppContext, id: number): JsonText<WorkOrderView> {
  return ctx.store.read(() => {
    const row = ctx.store.data.workOrders.viewTupleById(id);
    if (!row) throw notFound('work order');
    return jsonCache(ctx.store).one(row);
  });
}
export function listWorkOrdersJson(ctx: AppContext, f: WorkOrderFilter): JsonPage<WorkOrderView> {
  return ctx.store.read(() => {
    const { items, nextCursor } = ctx.store.data.workOrders.viewTuplePage(f);
    return { items: jsonCache(ctx.store).array(items), nextCursor };
  });
}
