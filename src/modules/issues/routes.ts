import type { AppContext } from '../../context.ts';
import { iso, ok, okList } from '../../http/envelope.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf } from '../../http/actor.ts';
import { commandResponse } from '../../http/command.ts';
import { stageParams } from '../stages/schemas.ts';
import * as s from './schemas.ts';
import { getIssue, type IssueView, listIssues, reportIssue, updateIssue } from './service.ts';

const issueJson = (i: IssueView) => ({
  ...i,
  created_at: iso(i.created_at),
  acknowledged_at: iso(i.acknowledged_at),
  resolved_at: iso(i.resolved_at),
  history: i.history.map((h) => ({ ...h, at: iso(h.at) })),
});

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
    (c, { params, body }) => commandResponse(c, ctx, 201, (tx) => reportIssue(ctx, tx, actorOf(c), params.wos_id, body), issueJson),
  );
  defineRoute(
    router,
    {
      method: 'patch',
      path: '/stages/{wos_id}/issues/{issue_id}',
      tag: 'issues',
      summary: 'Acknowledge or resolve an issue',
      access: MANAGERS,
      params: s.stageIssueParams,
      body: s.updateBody,
      response: s.issue,
    },
    (c, { params, body }) => commandResponse(c, ctx, 200, (tx) => updateIssue(ctx, tx, actorOf(c), params.wos_id, params.issue_id, body), issueJson),
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
    (c, { query }) => {
      const { items, nextCursor } = listIssues(ctx, query);
      return okList(c, items.map(issueJson), nextCursor);
    },
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
    (c, { params }) => ok(c, issueJson(getIssue(ctx, actorOf(c), params.issue_id))),
  );
}
