import { errorEnvelope } from '../../src/http/errors.ts';
import type { RouteInfo } from '../../src/http/route.ts';

const patterns = new WeakMap<RouteInfo, RegExp>();
const patternOf = (r: RouteInfo) => {
  let re = patterns.get(r);
  if (!re) {
    re = new RegExp(`^${r.path.replace(/\{[a-z_]+\}/g, '[^/]+')}$`);
    patterns.set(r, re);
  }
  return re;
};

/**
 * Checks a response against the contract of the route that answered: its JSON body must parse
 * with the route's success schema, an error with the envelope, so drift between what a handler
 * returns and what /openapi.json promises fails the test that saw it. Returns the response
 * untouched (the body is read from a clone).
 */
export async function checkContract(routes: RouteInfo[], method: string, url: string, res: Response): Promise<Response> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('application/json')) return res;
  const path = new URL(url, 'http://gateway').pathname;
  const route = routes.find((r) => r.method === method.toLowerCase() && patternOf(r).test(path));
  const json: unknown = await res.clone().json();
  const schema = res.status >= 400 ? errorEnvelope : route?.schema;
  if (res.status < 400 && route && res.status !== route.status) {
    throw new Error(`${method} ${path} answered ${res.status}; its contract says ${route.status}`);
  }
  if (!schema) {
    if (route && res.status < 400) throw new Error(`${method} ${path} answered JSON but declares no response schema`);
    return res;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${method} ${path} (${res.status}) does not match its schema: ${JSON.stringify(parsed.error.issues.slice(0, 5))}`);
  }
  // An operation advertises the errors it can answer (route-errors.ts); answering another is drift too.
  const code = res.status >= 400 ? (json as { error: { code: string } }).error.code : undefined;
  if (route && code !== undefined && !(route.errors as readonly string[]).includes(code)) {
    throw new Error(`${method} ${path} answered ${code}, which its OpenAPI does not list (${route.errors.join(', ')})`);
  }
  return res;
}
