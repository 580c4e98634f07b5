import { z } from '@hono/zod-openapi';
import { badge, badgeBody } from '../modules/auth/badge-schemas.ts';
import * as auth from '../modules/auth/schemas.ts';
import * as issues from '../modules/issues/schemas.ts';
import * as machines from '../modules/machines/schemas.ts';
import * as oee from '../modules/oee/schemas.ts';
import { deviceStatus, health, ready, syncStatus } from '../modules/ops/routes.ts';
import * as stages from '../modules/stages/schemas.ts';
import * as stations from '../modules/stations/schemas.ts';
import * as workorders from '../modules/workorders/schemas.ts';

/** A schema as a route spec holds it, or the factory that builds it for the plant's time zone. */
type SchemaOrFactory = z.ZodType | ((plantTz: string) => z.ZodType);

/** One route as a client sees it: what it takes (path parameters come from the path) and answers. */
export interface ClientRoute {
  body?: SchemaOrFactory;
  query?: SchemaOrFactory;
  /** The schema of the envelope's `data` (of each item with `list`); none: 204. */
  response?: z.ZodType;
  list?: true;
}

/**
 * Every JSON route of the v1 app, keyed `METHOD /path` exactly as the module registers it, with
 * the very schemas its `defineRoute` spec names. The typed client (`./types.ts`) derives every
 * request and answer type from this table, so the console and the legacy listener never write an
 * entity's fields themselves. It cannot drift from the routes: test/api-client.test.ts checks it
 * against the app's registry both ways (same routes, same schemas, same list flag).
 */
export const API_ROUTES = {
  'GET /health': { response: health },
  'GET /ready': { response: ready },
  'GET /drivers/status': { response: z.array(deviceStatus) },
  'GET /sync/status': { response: syncStatus },

  'POST /auth/register': { body: auth.registerBody, response: auth.user },
  'POST /auth/login': { body: auth.loginBody, response: auth.loginResult },
  'GET /auth/me': { response: auth.user },
  'GET /auth/users': { query: auth.usersQuery, response: auth.user, list: true },
  'GET /auth/workers': { query: auth.usersQuery, response: auth.assignableWorker, list: true },
  'PATCH /auth/users/{user_id}/role': { body: auth.roleBody, response: auth.user },
  'PATCH /auth/users/{user_id}': { body: auth.activeBody, response: auth.user },
  'POST /auth/password': { body: auth.changePasswordBody },
  'POST /auth/users/{user_id}/password': { body: auth.resetPasswordBody },
  'POST /auth/logout': {},

  'GET /stations': { query: stations.stationsQuery, response: stations.station, list: true },
  'POST /stations': { body: stations.createStationBody, response: stations.createdStation },
  'POST /stations/{station_id}/revoke': { response: stations.station },
  'GET /auth/badges': { query: stations.stationsQuery, response: badge, list: true },
  'PUT /auth/users/{user_id}/badge': { body: badgeBody },

  'POST /workorders': { body: workorders.createBody, response: workorders.workOrderWithStages },
  'GET /workorders': { query: workorders.listQuery, response: workorders.workOrder, list: true },
  'GET /workorders/{wo_id}': { response: workorders.workOrder },
  'GET /workorders/{wo_id}/stages': { response: stages.stage, list: true },
  'GET /workorders/{wo_id}/metrics': { response: workorders.workOrderMetrics },

  'POST /stages/{wos_id}/start': { body: stages.startBody, response: stages.stage },
  'POST /stages/{wos_id}/pause': { body: stages.pauseBody, response: stages.stage },
  'POST /stages/{wos_id}/resume': { body: stages.startBody, response: stages.stage },
  'POST /stages/{wos_id}/done': { body: stages.doneBody, response: stages.stage },
  'GET /stages': { query: stages.listQuery, response: stages.stage, list: true },
  'GET /stages/{wos_id}/metrics': { response: stages.stageMetrics },
  'POST /stages/{wos_id}/assignments': { body: stages.assignmentBody, response: stages.assignment },
  'DELETE /stages/{wos_id}/assignments/{user_id}': {},
  'GET /stages/{wos_id}/assignments': { response: stages.assignment, list: true },

  'POST /stages/{wos_id}/issue': { body: issues.reportBody, response: issues.issue },
  'PATCH /stages/{wos_id}/issues/{issue_id}': { body: issues.updateBody, response: issues.issue },
  'GET /issues': { query: issues.listQuery, response: issues.issue, list: true },
  'GET /issues/{issue_id}': { response: issues.issue },

  'POST /machines': { body: machines.createBody, response: machines.machine },
  'GET /machines': { query: machines.listQuery, response: machines.machine, list: true },
  'GET /machines/{machine_id}': { response: machines.machine },
  'PATCH /machines/{machine_id}': { body: machines.patchBody, response: machines.machine },
  'POST /machines/{machine_id}/readings': { body: machines.readingBody, response: machines.accepted },
  'GET /machines/{machine_id}/readings': { query: machines.readingsQuery, response: machines.reading, list: true },

  'GET /machines/{machine_id}/oee': { query: oee.machineOeeQuery, response: oee.machineOee },
  'GET /oee': { query: oee.shiftQuery, response: oee.shiftOee },
  'GET /workorders/{wo_id}/oee': { response: oee.workOrderOee },
  'GET /downtimes': { query: oee.downtimeQuery, response: oee.downtime, list: true },
  'GET /downtimes/{downtime_id}': { response: oee.downtime },
  'PATCH /downtimes/{downtime_id}': { body: oee.downtimeBody, response: oee.downtime },
  'GET /downtime-reasons': { response: z.array(oee.reasonTree) },
  'GET /stages/{wos_id}/machine': { response: oee.stageMachine },
  'PUT /stages/{wos_id}/machine': { body: oee.stageMachineBody, response: oee.stageMachine },
} as const satisfies Record<string, ClientRoute>;

/** The route table's type: what the typed client and the legacy listener's shapes are derived from. */
export type ApiRoutes = typeof API_ROUTES;
