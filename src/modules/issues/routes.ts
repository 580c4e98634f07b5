import type { AppContext } from '../../context.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { stageParams } from '../stages/schemas.ts';
import * as s from './schemas.ts';
import { getIssue, listIssues, reportIssue, updateIssue } from './service.ts';

const MANAGERS = ['manager', 'planner', 'admin'] as const;

export function registerIssueRoutes(router: Router, ctx: AppContext): void {
  defineRoute(
    router,
    {
      method: 'post',
      path: '/stages/{wos_id}/issue',
      tag: 'issues',
      summary: 'Report an issue on a stage',
      access: ['worker', 'manager', 'planner', 'admin'],
      params: stageParams,
      body: s.reportBody,
      response: s.issue,
      status: 201,
    },
    (c, { params, body }) => command(ctx, (tx) => reportIssue(ctx, tx, actorOf(c), params.wos_id, body)),
  );
  defineRoute(
    router,
    {
      method: 'patch',
      path: '/stages/{wos_id}/issues/{issue_id}',
      tag: 'issues',
      summary: 'Acknowledge or resolve an issue',
      access: MANAGERS,
      errors: ['INVALID_TRANSITION'],
      params: s.stageIssueParams,
      body: s.updateBody,
      response: s.issue,
    },
    (c, { params, body }) => command(ctx, (tx) => updateIssue(ctx, tx, actorOf(c), params.wos_id, params.issue_id, body)),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/issues',
      tag: 'issues',
      summary: 'List issues, newest first',
      access: MANAGERS,
      query: s.listQuery,
      response: s.issue,
      list: true,
    },
    (_c, { query }) => listIssues(ctx, query),
  );
  defineRoute(
    router,
    {
      method: 'get',
      path: '/issues/{issue_id}',
      tag: 'issues',
      summary: 'One issue (managers and its reporter)',
      access: 'any',
      params: s.issueParams,
      response: s.issue,
    },
    (c, { params }) => getIssue(ctx, actorOf(c), params.issue_id),
  );
}
