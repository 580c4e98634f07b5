import type { AppContext } from '../../context.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { getWorkOrderMetrics } from './metrics.ts';
import { stage } from '../stages/schemas.ts';
import * as s from './schemas.ts';
import { createWorkOrder, getWorkOrderJson, listStagesOf, listWorkOrdersJson } from './service.ts';

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
    (c, { body }) => command(ctx, (tx) => createWorkOrder(ctx, tx, actorOf(c), body)),
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
    (_c, { query }) => listWorkOrdersJson(ctx, query),
  );
  defineRoute(
    router,
    { method: 'get', path: '/workorders/{wo_id}', tag: 'work orders', summary: 'One work order', access: 'any', params: s.woParams, response: s.workOrder },
    (_c, { params }) => getWorkOrderJson(ctx, params.wo_id),
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
    (c, { params }) => ({ items: listStagesOf(ctx, actorOf(c), params.wo_id), nextCursor: null }),
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
      response: s.workOrderMetrics,
    },
    (_c, { params }) => getWorkOrderMetrics(ctx, params.wo_id),
  );
}
