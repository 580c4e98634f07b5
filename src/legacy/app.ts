import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { AppContext } from '../context.ts';
import { type FieldOrigin, phrase, toFastApiError } from './errors.ts';
import { honoPath, LEGACY_ROUTES, type LegacyRoute, matchesPath, pathParamsOf } from './routes.ts';
import { project } from './shapes.ts';
import { plantTimeFormatter } from './time.ts';

/** The v1 app's fetch handler: every legacy request is answered by it, in-process. */
export type V1Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Most rows one legacy list answer carries (the old API had no paging; see docs/fastapi-api-changes.md). */
export const LEGACY_MAX_LIST_ROWS = 10_000;
/** v1's largest page, used to follow its cursors. */
const PAGE_SIZE = 500;

export interface LegacyOptions {
  maxListRows?: number;
  /** Rows per v1 page while following cursors (tests use small pages). */
  pageSize?: number;
}

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

interface LegacyEnv {
  Variables: { requestId: string };
}

/**
 * The legacy listener: a translation in front of the v1 app. It rewrites nothing but paging,
 * hands each request to v1's `fetch` (same auth, roles, state machine, idempotency, audit and
 * limits), and turns v1's envelope into the old FastAPI backend's bare bodies and `detail` errors.
 */
export function newLegacyApp(ctx: AppContext, v1: V1Fetch, opts: LegacyOptions = {}): Hono<LegacyEnv> {
  const app = new Hono<LegacyEnv>({ strict: false });
  const log = ctx.logger.child({ module: 'http-legacy' });
  const format = plantTimeFormatter(ctx.config.plantTz);
  const maxRows = opts.maxListRows ?? LEGACY_MAX_LIST_ROWS;
  const pageSize = String(opts.pageSize ?? PAGE_SIZE);

  const json = (body: unknown, status: number, headers: Headers) => {
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    return new Response(JSON.stringify(body), { status, headers });
  };

  /** v1 response → legacy response: bare resource on success, FastAPI `detail` on error. */
  const translate = async (res: Response, route: LegacyRoute, origin: FieldOrigin): Promise<Response> => {
    const headers = new Headers(res.headers);
    if (res.status === 204) return new Response(null, { status: 204, headers });
    const parsed = parseJson(await res.text());
    if (res.ok) return json(project(dataOf(parsed), route.shape, format), res.status, headers);
    // FastAPI's OAuth2PasswordBearer answered every 401 with exactly this challenge.
    if (res.status === 401) headers.set('www-authenticate', 'Bearer');
    return json(toFastApiError(res.status, parsed, origin), res.status, headers);
  };

  // The route's method, not the request's: Hono answers HEAD through the GET route (and drops the
  // body), and v1 must then be asked a GET to have data to translate.
  const inner = (c: Context<LegacyEnv>, route: LegacyRoute, url: URL, headers: Headers, body: boolean) =>
    v1(new Request(url, { method: route.method, headers, ...(body ? { body: c.req.raw.body, duplex: 'half' } : {}) }), c.env);

  /** Follows v1's cursors so the old app gets the whole list in one bare array, up to the cap. */
  const followList = async (c: Context<LegacyEnv>, route: LegacyRoute, keep: 'first' | 'last', headers: Headers, origin: FieldOrigin) => {
    const url = new URL(c.req.url);
    url.searchParams.delete('cursor');
    url.searchParams.set('limit', pageSize);
    let rows: unknown[] = [];
    let truncated = false;
    for (;;) {
      const res = await inner(c, route, url, headers, false);
      if (!res.ok) return translate(res, route, origin);
      const page = parseJson(await res.text());
      const data = dataOf(page);
      if (!Array.isArray(data)) throw new Error(`v1 ${route.path} answered a list without an array`);
      rows.push(...data);
      const next = typeof page?.meta?.next_cursor === 'string' ? page.meta.next_cursor : null;
      if (rows.length > maxRows || (keep === 'first' && rows.length === maxRows && next)) {
        truncated = true;
        rows = keep === 'first' ? rows.slice(0, maxRows) : rows.slice(rows.length - maxRows);
        if (keep === 'first') break;
      }
      // A cursor that does not move would loop forever; v1 never sends one, but never trust it.
      if (!next || next === url.searchParams.get('cursor')) break;
      url.searchParams.set('cursor', next);
    }
    const out = new Headers();
    if (truncated) {
      out.set('x-legacy-truncated', 'true');
      log.warn({ request_id: c.get('requestId'), path: route.path, max_rows: maxRows, kept: keep }, 'legacy list answer truncated at the row cap');
    }
    return json(project(rows, route.shape, format), 200, out);
  };

  // One id for the legacy request and every v1 call it makes (v1 reuses a well-formed one), and
  // one line per legacy call: how an operator sees when the old app has gone quiet.
  app.use('*', async (c, next) => {
    const inbound = c.req.header('x-request-id');
    const requestId = inbound && INBOUND_ID.test(inbound) ? inbound : randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('x-request-id', requestId);
    log.info({ request_id: requestId, method: c.req.method, path: c.req.path, status: c.res.status }, 'legacy request');
  });

  for (const route of LEGACY_ROUTES) {
    const origin: FieldOrigin = { pathParams: pathParamsOf(route.path), method: route.method };
    app.on(route.method, honoPath(route.path), async (c) => {
      const headers = new Headers(c.req.raw.headers);
      headers.set('x-request-id', c.get('requestId'));
      if (route.list) return followList(c, route, route.list.keep, headers, origin);
      // FastAPI ignored the body of an endpoint that took none (start, done), so old clients send
      // an empty one with any Content-Type; v1 would call that malformed. Empty means absent.
      const empty = headers.get('content-length') === '0';
      if (empty) headers.delete('content-type');
      return translate(await inner(c, route, new URL(c.req.url), headers, route.method !== 'GET' && !empty), route, origin);
    });
  }

  app.notFound((c) => {
    const allowed = LEGACY_ROUTES.filter((r) => matchesPath(r.path, c.req.path)).map((r) => r.method);
    if (allowed.length > 0) return c.json({ detail: phrase(405) }, 405, { Allow: [...new Set(allowed)].join(', ') });
    return c.json({ detail: phrase(404) }, 404);
  });
  app.onError((err, c) => {
    log.error({ err, request_id: c.get('requestId'), path: c.req.path }, 'legacy listener failed');
    return c.json({ detail: phrase(500) }, 500);
  });
  return app;
}

interface V1Body {
  data?: unknown;
  meta?: { next_cursor?: unknown };
  error?: unknown;
}

/** v1's `data`; a 2xx without one is a bug to report as 500, never an empty 200. */
function dataOf(body: V1Body | undefined): unknown {
  if (body?.data === undefined) throw new Error('v1 answered 2xx without data');
  return body.data;
}

function parseJson(text: string): V1Body | undefined {
  if (text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as V1Body) : undefined;
  } catch {
    return undefined;
  }
}
