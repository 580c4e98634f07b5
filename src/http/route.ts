import { createRoute, type OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { Page } from '../db/keyset.ts';
import { CommandReply, runCommand } from './command.ts';
import type { ErrorCode } from './errors.ts';
import { type DeclaredErrors, errorResponses, errorsOf } from './route-errors.ts';
import { ok, okList } from './envelope.ts';
import type { JsonPage, JsonText } from './json-rows.ts';
import { validationHook, zodFailure } from './validation.ts';
import type { Context, MiddlewareHandler } from 'hono';
import type { Role } from '../core/vocabulary.ts';
import type { HttpEnv } from './types.ts';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type AnyObject = z.ZodObject;

/** Who may call a route: `public`, `optional` (public, a token unlocks more), any human role (`any`), or a list of roles. */
export type Access = 'public' | 'optional' | 'any' | readonly Role[];

/** What the route registry remembers for tests and docs (the role matrix runs over it). */
export interface RouteInfo {
  method: Method;
  path: string;
  access: Access;
  /** With `any`: device accounts (role `machine`) may call it too. */
  devices?: boolean;
  operationId: string;
  /** The success status and the schema of its JSON body (none for 204 and non-JSON answers). */
  status: number;
  schema?: z.ZodType;
  /** The error codes it can answer, as its OpenAPI lists them (route-errors.ts). */
  errors: readonly ErrorCode[];
}

/** One route as a module declares it; the handler's input and reply types follow from it. */
export interface RouteSpec {
  method: Method;
  path: string;
  /** Defaults to the method and path in camel case (`getWorkordersByWoIdStages`). */
  operationId?: string;
  tag: string;
  summary: string;
  access: Access;
  /** With `any`: device accounts may call it too (API.md, Roles); otherwise they get 403. */
  devices?: boolean;
  body?: z.ZodType;
  /** When false, an empty body is read as `{}` (actions whose fields are all optional). */
  bodyRequired?: boolean;
  /** The body carries a password: the route never takes part in idempotency (nothing of it is stored). */
  credentials?: boolean;
  /** Extra media types accepted for the body (login takes a form too). */
  formBody?: boolean;
  query?: AnyObject;
  params?: AnyObject;
  /** The schema of the answer's `data` (of each item with `list`); without it the route answers 204 or `raw`. */
  response?: z.ZodType;
  status?: 200 | 201 | 204;
  list?: boolean;
  /**
   * Errors the handler or its service may answer beyond those the rest of the spec implies (see
   * `errorsOf`): a 409, a 404 for a resource the path does not name, a throttle's 429, and so on.
   */
  errors?: DeclaredErrors;
}

/** What validation hands the handler for one part of the request (undefined when the spec has no schema for it). */
type Parsed<S, K extends 'body' | 'query' | 'params'> = S extends { [_ in K]: infer T extends z.ZodType } ? z.output<T> : undefined;

export interface RouteInput<S> {
  body: Parsed<S, 'body'>;
  query: Parsed<S, 'query'>;
  params: Parsed<S, 'params'>;
}

/** The escape hatch for an answer that is not JSON (Prometheus text): the handler's own Response, sent as is. */
export class RawReply {
  constructor(readonly response: Response) {}
}

/** Marks a Response as a route's raw answer; allowed only for routes whose spec has no `response` schema and no 204. */
export const raw = (response: Response): RawReply => new RawReply(response);

/**
 * What a handler returns, decided by its spec: the data of the response schema (or a `command`
 * producing it), a page of it for lists, nothing (or a command) for 204, and `raw` only where
 * the spec declares no schema. `defineRoute` wraps it into the envelope with the spec's status.
 * Data or items may come already as JSON text of that type (json-rows.ts, the row JSON cache).
 */
export type RouteReply<S> = S extends { status: 204 }
  ? undefined | CommandReply<unknown>
  : S extends { response: infer R extends z.ZodType }
    ? S extends { list: true }
      ? Page<z.input<R>> | JsonPage<z.input<R>>
      : z.input<R> | JsonText<z.input<R>> | CommandReply<z.input<R>>
    : RawReply;

/** A route handler: validated input in, the reply its spec allows out. */
export type RouteHandler<S> = (c: Context<HttpEnv>, input: RouteInput<S>) => RouteReply<S> | Promise<RouteReply<S>>;

/** The validated data of a route as its zod validators leave it on the request (zod-openapi's `Input`). */
interface Validated<S> {
  in: object;
  out: { json: Parsed<S, 'body'>; form: Parsed<S, 'body'>; query: Parsed<S, 'query'>; param: Parsed<S, 'params'> };
}

export interface Router {
  app: OpenAPIHono<HttpEnv>;
  routes: RouteInfo[];
  /** Middleware that authenticates and checks access, built once by the app. */
  guard: (access: Access, devices?: boolean) => MiddlewareHandler<HttpEnv>;
  /** Idempotency-Key handling, applied to every POST after the guard. */
  idempotency: MiddlewareHandler<HttpEnv>;
}

const okSchema = (data: z.ZodType, list: boolean) =>
  z.object({
    data: list ? z.array(data) : data,
    meta: z.object({ request_id: z.string(), timestamp: z.string(), ...(list ? { next_cursor: z.string().nullable() } : {}) }),
  });

/**
 * Idempotency-Key applies to POSTs of authenticated users only: anonymous callers would share one
 * key space, and a stored login or password answer would keep a credential at rest.
 */
const idempotent = (spec: { method: Method; access: Access; credentials?: boolean }) =>
  spec.method === 'post' && spec.access !== 'public' && spec.access !== 'optional' && spec.credentials !== true;

const camel = (word: string) => word.replace(/(^|[_-])([a-z0-9])/g, (_m, _sep, ch: string) => ch.toUpperCase());

/** `GET /workorders/{wo_id}/stages` → `getWorkordersByWoIdStages`. */
function operationIdOf(method: Method, path: string): string {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith('{') ? `By${camel(seg.slice(1, -1))}` : camel(seg)));
  return method + parts.join('');
}

/**
 * Registers one route: OpenAPI description, access guard, validation and the reply envelope in
 * one place. The handler's input and reply are typed by the spec, so a handler that returns
 * another shape than its response schema does not compile (test/types/define-route.ts).
 */
export function defineRoute<const S extends RouteSpec>(router: Router, spec: S, handler: RouteHandler<S>): void {
  const status = spec.status ?? 200;
  const content: Record<string, { schema: z.ZodType }> = {};
  if (spec.body) {
    content['application/json'] = { schema: spec.body };
    if (spec.formBody) {
      // Both encodings of an HTML form; FastAPI's OAuth2 password form took either.
      content['application/x-www-form-urlencoded'] = { schema: spec.body };
      content['multipart/form-data'] = { schema: spec.body };
    }
  }
  const operationId = spec.operationId ?? operationIdOf(spec.method, spec.path);
  const errors = errorsOf(spec, idempotent(spec));
  const schema = spec.response && status !== 204 ? okSchema(spec.response, spec.list ?? false) : undefined;
  // Typed as the general RouteConfig: this one function builds every route, so the library cannot
  // derive the handler's types from a literal config; `Validated<S>` declares them from the spec.
  const route: RouteConfig = createRoute({
    operationId,
    method: spec.method,
    path: spec.path,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.access === 'public' ? {} : { security: [{ bearerAuth: [] }] }),
    description:
      spec.access === 'public'
        ? 'Public.'
        : spec.access === 'optional'
          ? 'Public; an admin token unlocks more.'
          : spec.access === 'any'
            ? spec.devices
              ? 'Any authenticated user, device accounts included.'
              : 'Any human role (not device accounts).'
            : `Roles: ${spec.access.join(', ')}.`,
    request: {
      ...(spec.body ? { body: { content, required: spec.bodyRequired !== false && !spec.formBody } } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(spec.params ? { params: spec.params } : {}),
    },
    responses: {
      [status]: {
        description: status === 204 ? 'No content' : 'Success',
        ...(schema ? { content: { 'application/json': { schema } } } : {}),
      },
      ...errorResponses(errors),
    },
  });
  const list = spec.list === true;
  const guard = router.guard(spec.access, spec.devices);
  const params = validatorOf('param', spec.params);
  const query = validatorOf('query', spec.query);
  const run = (c: Context<HttpEnv, string, Validated<S>>): Response | Promise<Response> => {
    // A part the spec does not declare was never validated and reads as undefined, as its type says.
    const reply = handler(c, { body: spec.body ? bodyOf(c, spec) : (undefined as Parsed<S, 'body'>), query: query(c), params: params(c) });
    // Most reads answer synchronously: no extra promise turn for them.
    return reply instanceof Promise ? reply.then((r) => answer(c, r, status, list)) : answer(c, reply, status, list);
  };
  // Speed-up "synchronous parameter validation" (issue 24). The OpenAPI document describes the
  // whole route; the library's own validators are built only for a body. Query and path
  // parameters are checked here, synchronously, in the order the library checked them (query,
  // then path, then the body): its validators are async middleware, one more promise and compose
  // step each. A route without a body (every read) is one handler, the guard calling the handler
  // as its `next`, where it was a chain of three or four. In same-turn A/B runs (pinned, Node 20
  // and 24) GET /auth/me and a work order's stages took 4–9% less CPU per request; a page of 50
  // did not move (docs/benchmarks.md, issue 24).
  router.app.openAPIRegistry.registerPath(route);
  const served: RouteConfig = { ...route, hide: true, request: spec.body ? { body: route.request?.body } : {} };
  if (spec.body) {
    const checkParts: MiddlewareHandler<HttpEnv> = (c, next) => {
      query(c);
      params(c);
      return next();
    };
    const middleware = idempotent(spec) ? [guard, router.idempotency, checkParts] : [guard, checkParts];
    router.app.openapi<RouteConfig, Validated<S>>({ ...served, middleware }, run);
  } else {
    // The guard's `next` is the handler itself: its Response comes back through the guard.
    const next = (c: Context<HttpEnv, string, Validated<S>>) => () => run(c) as unknown as Promise<void>;
    const guarded = (c: Context<HttpEnv, string, Validated<S>>) => guard(c as Context<HttpEnv>, next(c)) as unknown as Response | Promise<Response>;
    router.app.openapi<RouteConfig, Validated<S>>(
      idempotent(spec) ? { ...served, middleware: [guard, router.idempotency] } : served,
      idempotent(spec) ? run : guarded,
    );
  }
  router.routes.push({
    method: spec.method,
    path: spec.path,
    access: spec.access,
    operationId,
    status,
    errors,
    ...(schema ? { schema } : {}),
    ...(spec.devices ? { devices: true } : {}),
  });
}

/**
 * Validates one part of the request (`param` or `query`) with its zod schema, synchronously, the
 * first time the part is asked for in a request, and keeps the result as the library's validators
 * did (`c.req.valid`). A query key given more than once is a list, as Hono's validator reads it. A
 * failure is the same VALIDATION_ERROR the library's hook raised.
 */
function validatorOf(target: 'param' | 'query', schema: AnyObject | undefined): (c: Context<HttpEnv>) => never {
  if (!schema) return (() => undefined) as () => never;
  return ((c: Context<HttpEnv>) => {
    const known: unknown = c.req.valid(target as never);
    if (known !== undefined) return known;
    const value = target === 'param' ? c.req.param() : queryOf(c);
    const result = schema.safeParse(value);
    validationHook(result);
    c.req.addValidatedData(target, result.data as never);
    return result.data;
  }) as (c: Context<HttpEnv>) => never;
}

/** The query as Hono's validator hands it to zod: one value per key, a list for a repeated key. */
function queryOf(c: Context<HttpEnv>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) out[k] = v.length === 1 ? (v[0] as string) : v;
  return out;
}

/** Wraps a handler's reply: a command runs on the command path, data and pages go into the envelope. */
function answer(c: Context<HttpEnv>, reply: unknown, status: 200 | 201 | 204, list: boolean): Response | Promise<Response> {
  if (reply instanceof RawReply) return reply.response;
  if (reply instanceof CommandReply) return runCommand(c, reply, status);
  if (status === 204) return c.body(null, 204);
  if (list && isPage(reply)) return okList(c, reply.items, reply.nextCursor);
  return ok(c, reply, status);
}

const isPage = (reply: unknown): reply is Page<unknown> | JsonPage<unknown> =>
  typeof reply === 'object' && reply !== null && 'items' in reply && 'nextCursor' in reply;

function bodyOf<S extends RouteSpec>(c: Context<HttpEnv, string, Validated<S>>, spec: S): Parsed<S, 'body'> {
  if (!spec.formBody) return c.req.valid('json');
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) return c.req.valid('form');
  if (type.includes('json')) return c.req.valid('json');
  // Without a JSON or form body neither validator ran and the library leaves `{}`: check that
  // against the schema, so missing fields are reported like any other validation failure (a form
  // route whose fields are all optional gets that `{}`, which its schema accepts).
  const empty = spec.body?.safeParse({});
  if (empty && !empty.success) throw zodFailure(empty.error);
  return c.req.valid('json');
}
