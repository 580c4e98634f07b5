import type { AppContext } from '../../context.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { getStageMetrics } from './metrics.ts';
import { listStages } from './queries.ts';
import * as s from './schemas.ts';
import { assignUser, listAssignments, transitionStage, unassignUser } from './service.ts';

const ACTORS = ['worker', 'planner', 'admin'] as const;

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
        errors: ['INVALID_TRANSITION'],
        params: s.stageParams,
        body,
        bodyRequired: required,
        response: s.stage,
      },
      (c, { params, body: input }) => command(ctx, (tx) => transitionStage(ctx, tx, actorOf(c), params.wos_id, name, input)),
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
    (c, { query }) => listStages(ctx, actorOf(c), query),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/stages/{wos_id}/metrics',
      tag: 'metrics',
      summary: 'Stage metrics',
      access: 'any',
      params: s.stageParams,
      response: s.stageMetrics,
    },
    (_c, { params }) => getStageMetrics(ctx, params.wos_id),
  );
  defineRoute(
    router,
    {
      method: 'post',
      path: '/stages/{wos_id}/assignments',
      tag: 'stages',
      summary: 'Assign a user to a stage',
      access: ['planner', 'admin'],
      // The user is assigned already.
      errors: ['CONFLICT'],
      params: s.stageParams,
      body: s.assignmentBody,
      response: s.assignment,
      status: 201,
    },
    (c, { params, body }) => command(ctx, (tx) => assignUser(ctx, tx, actorOf(c), params.wos_id, body.user_id)),
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
    (c, { params }) => command(ctx, (tx) => unassignUser(ctx, tx, actorOf(c), params.wos_id, params.user_id)),
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
    (_c, { params }) => ({ items: listAssignments(ctx, params.wos_id), nextCursor: null }),
  );
}
