import { z } from '@hono/zod-openapi';
import type { AppContext } from '../../context.ts';
import { iso, ok, okList } from '../../http/envelope.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { commandResponse } from '../../http/command.ts';
import { getStageMetrics } from './metrics.ts';
import { listStages, type StageView } from './queries.ts';
import * as s from './schemas.ts';
import { assignUser, listAssignments, transitionStage, unassignUser, type AssignmentView } from './service.ts';

export const stageJson = (v: StageView) => ({
  ...v,
  planned_start: iso(v.planned_start),
  planned_end: iso(v.planned_end),
  actual_start: iso(v.actual_start),
  actual_end: iso(v.actual_end),
});

const assignmentJson = (a: AssignmentView) => ({ ...a, assigned_at: iso(a.assigned_at) });

const ACTORS = ['worker', 'planner', 'admin'] as const;

const stageMetrics = z
  .object({
    stage_id: z.number().int(),
    status: z.string(),
    planned_duration_s: z.number().int().nullable(),
    actual_duration_s: z.number().int().nullable(),
    paused_s: z.number().int(),
    start_delay_s: z.number().int().nullable(),
    end_delay_s: z.number().int().nullable(),
    efficiency: z.number().nullable(),
    on_time: z.boolean().nullable(),
  })
  .openapi('StageMetrics');

export function registerStageRoutes(router: Router, ctx: AppContext): void {
  const tz = ctx.config.plantTz;
  const action = (
    name: 'start' | 'pause' | 'resume' | 'done',
    body: ReturnType<typeof s.startBody> | ReturnType<typeof s.pauseBody> | ReturnType<typeof s.doneBody>,
    required: boolean,
  ) =>
    defineRoute(
      router,
      {
        method: 'post',
        path: `/stages/{wos_id}/${name}`,
        tag: 'stages',
        summary: `${name[0]?.toUpperCase()}${name.slice(1)} a stage`,
        access: ACTORS,
        params: s.stageParams,
        body,
        bodyRequired: required,
        response: s.stage,
      },
      (c, { params, body: input }) => commandResponse(c, ctx, 200, (tx) => transitionStage(ctx, tx, actorOf(c), params.wos_id, name, input), stageJson),
    );
  action('start', s.startBody(tz), false);
  action('pause', s.pauseBody(tz), true);
  action('resume', s.startBody(tz), false);
  action('done', s.doneBody(tz), false);

  defineRoute(
    router,
    {
      method: 'get',
      path: '/stages',
      tag: 'stages',
      summary: 'List stages ("my work" with assigned_to=me)',
      access: 'any',
      query: s.listQuery,
      response: s.stage,
      list: true,
    },
    (c, { query }) => {
      const { items, nextCursor } = listStages(ctx, actorOf(c), query);
      return okList(c, items.map(stageJson), nextCursor);
    },
  );
  defineRoute(
    router,
    { method: 'get', path: '/stages/{wos_id}/metrics', tag: 'metrics', summary: 'Stage metrics', access: 'any', params: s.stageParams, response: stageMetrics },
    (c, { params }) => ok(c, getStageMetrics(ctx, params.wos_id)),
  );
  defineRoute(
    router,
    {
      method: 'post',
      path: '/stages/{wos_id}/assignments',
      tag: 'stages',
      summary: 'Assign a user to a stage',
      access: ['planner', 'admin'],
      params: s.stageParams,
      body: s.assignmentBody,
      response: s.assignment,
      status: 201,
    },
    (c, { params, body }) => commandResponse(c, ctx, 201, (tx) => assignUser(ctx, tx, actorOf(c), params.wos_id, body.user_id), assignmentJson),
  );
  defineRoute(
    router,
    {
      method: 'delete',
      path: '/stages/{wos_id}/assignments/{user_id}',
      tag: 'stages',
      summary: 'Remove an assignment',
      access: ['planner', 'admin'],
      params: s.assignmentParams,
      status: 204,
    },
    (c, { params }) =>
      commandResponse(
        c,
        ctx,
        204,
        (tx) => unassignUser(ctx, tx, actorOf(c), params.wos_id, params.user_id),
        () => undefined,
      ),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/stages/{wos_id}/assignments',
      tag: 'stages',
      summary: 'Users assigned to a stage',
      access: 'any',
      params: s.stageParams,
      response: s.assignment,
      list: true,
    },
    (c, { params }) => okList(c, listAssignments(ctx, params.wos_id).map(assignmentJson), null),
  );
}
