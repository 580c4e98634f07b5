import { z } from '@hono/zod-openapi';
import type { AppContext } from '../../context.ts';
import { iso, ok, okList } from '../../http/envelope.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { commandResponse } from '../../http/command.ts';
import { stageJson } from '../stages/routes.ts';
import { getWorkOrderMetrics } from './metrics.ts';
import { stage } from '../stages/schemas.ts';
import * as s from './schemas.ts';
import { createWorkOrder, getWorkOrder, listStagesOf, listWorkOrders, type WorkOrderView } from './service.ts';

const workOrderJson = (w: WorkOrderView) => ({
  ...w,
  planned_start: iso(w.planned_start),
  planned_end: iso(w.planned_end),
  created_at: iso(w.created_at),
  updated_at: iso(w.updated_at),
});

const metricsSchema = z
  .object({
    work_order_id: z.number().int(),
    stages_total: z.number().int(),
    stages_done: z.number().int(),
    stages_in_progress: z.number().int(),
    stages_paused: z.number().int(),
    progress_pct: z.number().nullable(),
    on_time_pct: z.number().nullable(),
    efficiency: z.number().nullable(),
    end_delay_s: z.number().int().nullable(),
    open_issues: z.number().int(),
    qty_good: z.number().int().nullable(),
    qty_scrap: z.number().int().nullable(),
    yield_pct: z.number().nullable(),
  })
  .openapi('WorkOrderMetrics');

export function registerWorkOrderRoutes(router: Router, ctx: AppContext): void {
  const tz = ctx.config.plantTz;
  defineRoute(
    router,
    {
      method: 'post',
      path: '/workorders',
      tag: 'work orders',
      summary: 'Create a work order with its stages',
      access: ['planner', 'admin'],
      body: s.createBody(tz),
      response: s.workOrderWithStages,
      status: 201,
    },
    (c, { body }) =>
      commandResponse(
        c,
        ctx,
        201,
        (tx) => createWorkOrder(ctx, tx, actorOf(c), body),
        (wo) => ({ ...workOrderJson(wo), stages: wo.stages.map(stageJson) }),
      ),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/workorders',
      tag: 'work orders',
      summary: 'List work orders by planned start',
      access: 'any',
      query: s.listQuery(tz),
      response: s.workOrder,
      list: true,
    },
    (c, { query }) => {
      const { items, nextCursor } = listWorkOrders(ctx, query);
      return okList(c, items.map(workOrderJson), nextCursor);
    },
  );
  defineRoute(
    router,
    { method: 'get', path: '/workorders/{wo_id}', tag: 'work orders', summary: 'One work order', access: 'any', params: s.woParams, response: s.workOrder },
    (c, { params }) => ok(c, workOrderJson(getWorkOrder(ctx, params.wo_id))),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/workorders/{wo_id}/stages',
      tag: 'work orders',
      summary: 'Stages by seq (a worker sees only its own)',
      access: 'any',
      params: s.woParams,
      response: stage,
      list: true,
    },
    (c, { params }) => okList(c, listStagesOf(ctx, actorOf(c), params.wo_id).map(stageJson), null),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/workorders/{wo_id}/metrics',
      tag: 'metrics',
      summary: 'Work-order metrics',
      access: 'any',
      params: s.woParams,
      response: metricsSchema,
    },
    (c, { params }) => ok(c, getWorkOrderMetrics(ctx, params.wo_id)),
  );
}
