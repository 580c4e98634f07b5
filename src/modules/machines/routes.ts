import type { AppContext } from '../../context.ts';
import { iso } from '../../core/iso.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import * as s from './schemas.ts';
import type { ReadingView } from './schemas.ts';
import { createMachine, getMachine, listMachines, listReadings, patchMachine, postReadings } from './service.ts';

type ReadingRow = ReturnType<typeof listReadings>['items'][number];

const readingView = (r: ReadingRow): ReadingView => ({
  id: r.id,
  reading_type: r.readingType,
  value: r.value,
  unit: r.unit,
  quality: r.quality,
  reason: r.quality === 'good' ? null : r.reason,
  timestamp: iso(r.sourceTs),
  recorded_at: iso(r.recordedAt),
});

export function registerMachineRoutes(router: Router, ctx: AppContext): void {
  const tz = ctx.config.plantTz;
  defineRoute(
    router,
    {
      method: 'post',
      path: '/machines',
      tag: 'machines',
      summary: 'Register a machine',
      access: ['admin', 'planner'],
      // The name is taken.
      errors: ['CONFLICT'],
      body: s.createBody,
      response: s.machine,
      status: 201,
    },
    (c, { body }) => command(ctx, (tx) => createMachine(ctx, tx, actorOf(c), body)),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/machines',
      tag: 'machines',
      summary: 'Machines with their latest values',
      access: 'any',
      devices: true,
      query: s.listQuery,
      response: s.machine,
      list: true,
    },
    (_c, { query }) => listMachines(ctx, query),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/machines/{machine_id}',
      tag: 'machines',
      summary: 'One machine',
      access: 'any',
      devices: true,
      params: s.machineParams,
      response: s.machine,
    },
    (_c, { params }) => getMachine(ctx, params.machine_id),
  );
  defineRoute(
    router,
    {
      method: 'patch',
      path: '/machines/{machine_id}',
      tag: 'machines',
      summary: 'Change status or location',
      access: ['admin', 'planner'],
      params: s.machineParams,
      body: s.patchBody,
      response: s.machine,
    },
    (c, { params, body }) => command(ctx, (tx) => patchMachine(ctx, tx, actorOf(c), params.machine_id, body)),
  );
  defineRoute(
    router,
    {
      method: 'post',
      path: '/machines/{machine_id}/readings',
      tag: 'machines',
      summary: 'Post one reading or up to 1000',
      access: ['admin', 'planner', 'manager', 'machine'],
      params: s.machineParams,
      body: s.readingBody(tz),
      response: s.accepted,
      status: 201,
    },
    (_c, { params, body }) => {
      const list = Array.isArray(body) ? body : [body];
      const readings = list.map((r) => ({
        readingType: r.reading_type,
        value: r.value,
        unit: r.unit ?? null,
        quality: r.quality ?? 'good',
        sourceTs: r.timestamp,
      }));
      return command(ctx, (tx) => ({ accepted: postReadings(ctx, tx, params.machine_id, readings, Array.isArray(body)) }));
    },
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/machines/{machine_id}/readings',
      tag: 'machines',
      summary: 'Readings, newest first',
      access: 'any',
      devices: true,
      params: s.machineParams,
      query: s.readingsQuery(tz),
      response: s.reading,
      list: true,
    },
    (_c, { params, query }) => {
      const { items, nextCursor } = listReadings(ctx, params.machine_id, query);
      return { items: items.map(readingView), nextCursor };
    },
  );
}
