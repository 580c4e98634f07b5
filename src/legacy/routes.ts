import type { ApiRoutes } from '../client/routes.ts';
import type { ApiItem, ApiMethod, RouteKey } from '../client/types.ts';
import { createdWorkOrderShape, issueShape, loginShape, type ObjectShape, type Shape, stageShape, userShape, workOrderShape } from './shapes.ts';

/**
 * One endpoint of the old FastAPI backend (or one it had planned). The path is the same on v1,
 * which kept the old paths; the legacy listener only changes what goes in and out around it.
 */
export interface LegacyRoute {
  method: ApiMethod;
  path: string;
  shape: Shape;
  /**
   * v1 pages this list; the old API answered everything at once. The listener follows the
   * cursors and, past the row cap, keeps the end the old app most needs: the latest planned work
   * orders (`last`), the newest issues (`first`, as v1 lists them newest first).
   */
  list?: { keep: 'first' | 'last' };
}

/**
 * A legacy endpoint in front of the v1 route `key`: its shape is typed by that route's answer (an
 * item of it for a list), and only a list route can be followed page by page, keeping one end.
 * A work order's stages are a list that v1 answers in one page, so they are passed on as one.
 */
export function legacyRoute<K extends RouteKey>(
  key: K,
  shape: ObjectShape<ApiItem<K>> | 'as-is',
  ...keep: ApiRoutes[K] extends { list: true } ? [keep?: 'first' | 'last'] : []
): LegacyRoute {
  const [method, path] = key.split(' ') as [ApiMethod, string];
  return { method, path, shape, ...(keep[0] ? { list: { keep: keep[0] } } : {}) };
}

export const LEGACY_ROUTES: readonly LegacyRoute[] = [
  legacyRoute('POST /auth/login', loginShape),
  legacyRoute('POST /auth/register', userShape),
  legacyRoute('GET /auth/users', userShape, 'first'),
  legacyRoute('PATCH /auth/users/{user_id}/role', userShape),
  legacyRoute('POST /workorders', createdWorkOrderShape),
  legacyRoute('GET /workorders', workOrderShape, 'last'),
  legacyRoute('GET /workorders/{wo_id}', workOrderShape),
  legacyRoute('GET /workorders/{wo_id}/stages', stageShape),
  legacyRoute('GET /workorders/{wo_id}/metrics', 'as-is'),
  legacyRoute('POST /stages/{wos_id}/start', stageShape),
  legacyRoute('POST /stages/{wos_id}/done', stageShape),
  legacyRoute('POST /stages/{wos_id}/issue', issueShape),
  legacyRoute('PATCH /stages/{wos_id}/issues/{issue_id}', issueShape),
  legacyRoute('GET /stages/{wos_id}/metrics', 'as-is'),
  legacyRoute('GET /issues', issueShape, 'first'),
];

/** Names of a route's path parameters (`{wo_id}` → `wo_id`). */
export const pathParamsOf = (path: string): string[] => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');

/** Hono's spelling of a path pattern. */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

/** Matches a concrete path against a pattern, trailing slash optional (for the 405 answer). */
export const matchesPath = (pattern: string, path: string): boolean => new RegExp(`^${pattern.replace(/\{\w+\}/g, '[^/]+')}/?$`).test(path);
