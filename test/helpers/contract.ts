import { errorEnvelope } from '../../src/http/errors.ts';
import type { RouteInfo } from '../../src/http/route.ts';
import { unknownFields } from './strict-shape.ts';

const patterns = new WeakMap<RouteInfo, RegExp>();
const patternOf = (r: RouteInfo) => {
  let re = patterns.get(r);
  if (!re) {
    // The app is built with `strict: false`, so a trailing slash reaches the same route.
    re = new RegExp(`^${r.path.replace(/\{[a-z_]+\}/g, '[^/]+')}/?$`);
    patterns.set(r, re);
  }
  return re;
};

/**
 * JSON answers that no `defineRoute` spec describes, each for a stated reason. Any other JSON
 * success without a route fails the check: a route the checker cannot find is a route it cannot
 * check, and passing it silently would let a mistyped path or a stray handler go unseen.
 */
const OUTSIDE_ROUTES: ReadonlyArray<{ method: string; path: string; why: string }> = [
  { method: 'GET', path: '/openapi.json', why: 'the contract itself, a plain Hono route (src/http/openapi.ts)' },
];

/**
 * Checks a response against the contract of the route that answered: its JSON body must parse
 * with the route's success schema, an error with the envelope, and carry no field the schema does
 * not declare (zod would strip it silently), so drift between what a handler returns and what
 * /openapi.json promises fails the test that saw it. A JSON success whose route is not found
 * fails too, unless it is one of OUTSIDE_ROUTES. Returns the response untouched (the body is read
 * from a clone).
 */
export async function checkContract(routes: RouteInfo[], method: string, url: string, res: Response): Promise<Response> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) return res;
  const path = new URL(url, 'http://gateway').pathname;
  const route = routes.find((r) => r.method === method.toLowerCase() && patternOf(r).test(path));
  const json: unknown = await res.clone().json();
  if (res.status < 400) {
    if (!route) {
      if (OUTSIDE_ROUTES.some((o) => o.method === method.toUpperCase() && o.path === path)) return res;
      throw new Error(`${method} ${path} answered ${res.status} with JSON, but no route of the contract matches it`);
    }
    if (res.status !== route.status) throw new Error(`${method} ${path} answered ${res.status}; its contract says ${route.status}`);
    if (!route.schema) throw new Error(`${method} ${path} answered JSON but declares no response schema`);
  }
  const schema = res.status >= 400 ? errorEnvelope : route?.schema;
  if (!schema) return res;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${method} ${path} (${res.status}) does not match its schema: ${JSON.stringify(parsed.error.issues.slice(0, 5))}`);
  }
  const extra = unknownFields(schema, json);
  if (extra.length > 0) {
    throw new Error(`${method} ${path} (${res.status}) carries fields its schema does not declare: ${extra.slice(0, 10).join(', ')}`);
  }
  // An operation advertises the errors it can answer (route-errors.ts); answering another is drift too.
  const code = res.status >= 400 ? (json as { error: { code: string } }).error.code : undefined;
  if (route && code !== undefined && !(route.errors as readonly string[]).includes(code)) {
    throw new Error(`${method} ${path} answered ${code}, which its OpenAPI does not list (${route.errors.join(', ')})`);
  }
  return res;
}
