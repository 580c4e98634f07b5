import { z } from '@hono/zod-openapi';
import type { AppContext } from '../../context.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { idParams } from '../../http/schemas.ts';
import { stageParams } from '../stages/schemas.ts';
import { assignReason, getDowntime, listDowntimes } from './downtime-service.ts';
import * as s from './schemas.ts';
import { machineOee, shiftOee, workOrderOee } from './service.ts';
import { getStageMachine, setStageMachine } from './stage-machines.ts';

/** Every role but `machine` (a device token reads no OEE and gives no reasons). */
const PEOPLE = ['worker', 'manager', 'planner', 'admin'] as const;

/** OEE, downtime records and their reasons, and the machine a stage runs on (docs/oee.md). */
export function registerOeeRoutes(router: Router, ctx: AppContext): void {
  const tz = ctx.config.plantTz;
  defineRoute(
    router,
    {
      method: 'get',
      path: '/machines/{machine_id}/oee',
      tag: 'oee',
      summary: 'OEE of one machine over a range (at most 32 days), optionally per shift or day',
      access: PEOPLE,
      params: idParams('machine_id'),
      query: s.machineOeeQuery(tz),
      response: s.machineOee,
    },
    (_c, { params, query }) => machineOee(ctx, params.machine_id, query),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/oee',
      tag: 'oee',
      summary: 'OEE of every machine over one shift',
      access: PEOPLE,
      query: s.shiftQuery,
      response: s.shiftOee,
      // The shift does not work that day, or none runs now.
      errors: ['NOT_FOUND'],
    },
    (_c, { query }) => shiftOee(ctx, query.shift),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/workorders/{wo_id}/oee',
      tag: 'oee',
      summary: 'OEE of each stage of a work order on its machine',
      access: PEOPLE,
      params: idParams('wo_id'),
      response: s.workOrderOee,
    },
    (_c, { params }) => workOrderOee(ctx, params.wo_id),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/downtimes',
      tag: 'oee',
      summary: 'Downtime records, newest first',
      access: PEOPLE,
      query: s.downtimeQuery(tz),
      response: s.downtime,
      list: true,
    },
    (_c, { query }) => listDowntimes(ctx, query),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/downtimes/{downtime_id}',
      tag: 'oee',
      summary: 'One downtime record',
      access: PEOPLE,
      params: s.downtimeParams,
      response: s.downtime,
    },
    (_c, { params }) => getDowntime(ctx, params.downtime_id),
  );
  defineRoute(
    router,
    {
      method: 'patch',
      path: '/downtimes/{downtime_id}',
      tag: 'oee',
      summary: 'Give a downtime its reason (workers: on a machine their stage ran on)',
      access: PEOPLE,
      params: s.downtimeParams,
      body: s.downtimeBody,
      response: s.downtime,
    },
    (c, { params, body }) => command(ctx, (tx) => assignReason(ctx, tx, actorOf(c), params.downtime_id, body)),
  );
  defineRoute(
    router,
    { method: 'get', path: '/downtime-reasons', tag: 'oee', summary: 'The configured reason tree', access: PEOPLE, response: z.array(s.reasonTree) },
    () => ctx.config.settings.oee.reasons,
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/stages/{wos_id}/machine',
      tag: 'oee',
      summary: 'The machine a stage runs on',
      access: PEOPLE,
      params: stageParams,
      response: s.stageMachine,
    },
    (_c, { params }) => getStageMachine(ctx, params.wos_id),
  );
  defineRoute(
    router,
    {
      method: 'put',
      path: '/stages/{wos_id}/machine',
      tag: 'oee',
      summary: 'Name (or clear) the machine a stage runs on',
      access: ['manager', 'planner', 'admin'],
      params: stageParams,
      body: s.stageMachineBody,
      response: s.stageMachine,
    },
    (c, { params, body }) => command(ctx, (tx) => setStageMachine(ctx, tx, actorOf(c), params.wos_id, body.machine_id)),
  );
}
