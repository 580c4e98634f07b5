import { createdWorkOrderShape, issueShape, loginShape, type Shape, stageShape, userShape, workOrderShape } from './shapes.ts';

/**
 * One endpoint of the old FastAPI backend (or one it had planned). The path is the same on v1,
 * which kept the old paths; the legacy listener only changes what goes in and out around it.
 */
export interface LegacyRoute {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  shape: Shape;
  /**
   * v1 pages this list; the old API answered everything at once. The listener follows the
   * cursors and, past the row cap, keeps the end the old app most needs: the latest planned work
   * orders (`last`), the newest issues (`first`, as v1 lists them newest first).
   */
  list?: { keep: 'first' | 'last' };
}

export const LEGACY_ROUTES: readonly LegacyRoute[] = [
  { method: 'POST', path: '/auth/login', shape: loginShape },
  { method: 'POST', path: '/auth/register', shape: userShape },
  { method: 'GET', path: '/auth/users', shape: userShape, list: { keep: 'first' } },
  { method: 'PATCH', path: '/auth/users/{user_id}/role', shape: userShape },
  { method: 'POST', path: '/workorders', shape: createdWorkOrderShape },
  { method: 'GET', path: '/workorders', shape: workOrderShape, list: { keep: 'last' } },
  { method: 'GET', path: '/workorders/{wo_id}', shape: workOrderShape },
  { method: 'GET', path: '/workorders/{wo_id}/stages', shape: stageShape },
  { method: 'GET', path: '/workorders/{wo_id}/metrics', shape: 'as-is' },
  { method: 'POST', path: '/stages/{wos_id}/start', shape: stageShape },
  { method: 'POST', path: '/stages/{wos_id}/done', shape: stageShape },
  { method: 'POST', path: '/stages/{wos_id}/issue', shape: issueShape },
  { method: 'PATCH', path: '/stages/{wos_id}/issues/{issue_id}', shape: issueShape },
  { method: 'GET', path: '/stages/{wos_id}/metrics', shape: 'as-is' },
  { method: 'GET', path: '/issues', shape: issueShape, list: { keep: 'first' } },
];

/** Names of a route's path parameters (`{wo_id}` → `wo_id`). */
export const pathParamsOf = (path: string): string[] => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');

/** Hono's spelling of a path pattern. */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');

/** Matches a concrete path against a pattern, trailing slash optional (for the 405 answer). */
export const matchesPath = (pattern: string, path: string): boolean => new RegExp(`^${pattern.replace(/\{\w+\}/g, '[^/]+')}/?$`).test(path);
