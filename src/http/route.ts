import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { zodFailure } from './validation.ts';
import type { Context, MiddlewareHandler } from 'hono';
import type { Role } from '../db/schema.ts';
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
}

export interface RouteSpec<B extends z.ZodType | undefined, Q extends AnyObject | undefined, P extends AnyObject | undefined> {
  method: Method;
  path: string;
  /** Defaults to the method and path in camel case (`getWorkordersByWoIdStages`). */
  operationId?: string;
  tag: string;
  summary: string;
  access: Access;
  /** With `any`: device accounts may call it too (API.md, Roles); otherwise they get 403. */
  devices?: boolean;
  body?: B;
  /** When false, an empty body is read as `{}` (actions whose fields are all optional). */
  bodyRequired?: boolean;
  /** The body carries a password: the route never takes part in idempotency (nothing of it is stored). */
  credentials?: boolean;
  /** Extra media types accepted for the body (login takes a form too). */
  formBody?: boolean;
  query?: Q;
  params?: P;
  response?: z.ZodType;
  status?: 200 | 201 | 204;
  list?: boolean;
}

type Out<T> = T extends z.ZodType ? z.infer<T> : undefined;

export interface RouteInput<B, Q, P> {
  body: Out<B>;
  query: Out<Q>;
  params: Out<P>;
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

/** The error envelope of every 4xx/5xx answer (API.md, errors). */
export const errorEnvelope = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.union([z.array(z.object({ path: z.string().optional(), message: z.string() }).passthrough()), z.record(z.string(), z.unknown())]).optional(),
    }),
    meta: z.object({ request_id: z.string(), timestamp: z.string() }),
  })
  .openapi('Error');

const ERRORS: Record<number, string> = {
  400: 'MALFORMED_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT or INVALID_TRANSITION',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_ERROR',
  503: 'UNAVAILABLE',
};
const errorResponses = Object.fromEntries(
  Object.entries(ERRORS).map(([status, code]) => [status, { description: code, content: { 'application/json': { schema: errorEnvelope } } }]),
);

const camel = (word: string) => word.replace(/(^|[_-])([a-z0-9])/g, (_m, _sep, ch: string) => ch.toUpperCase());

/** `GET /workorders/{wo_id}/stages` → `getWorkordersByWoIdStages`. */
function operationIdOf(method: Method, path: string): string {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith('{') ? `By${camel(seg.slice(1, -1))}` : camel(seg)));
  return method + parts.join('');
}

/** Registers one route: OpenAPI description, access guard and validation in one place. */
export function defineRoute<
  B extends z.ZodType | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  P extends AnyObject | undefined = undefined,
>(router: Router, spec: RouteSpec<B, Q, P>, handler: (c: Context<HttpEnv>, input: RouteInput<B, Q, P>) => Response | Promise<Response>): void {
  const status = spec.status ?? 200;
  const content: Record<string, { schema: z.ZodType }> = {};
  if (spec.body) {
    content['application/json'] = { schema: spec.body };
    if (spec.formBody) content['application/x-www-form-urlencoded'] = { schema: spec.body };
  }
  const operationId = spec.operationId ?? operationIdOf(spec.method, spec.path);
  const schema = spec.response && status !== 204 ? okSchema(spec.response, spec.list ?? false) : undefined;
  const route = createRoute({
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
    middleware: (idempotent(spec) ? [router.guard(spec.access, spec.devices), router.idempotency] : [router.guard(spec.access, spec.devices)]) as [
      MiddlewareHandler<HttpEnv>,
    ],
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
      ...errorResponses,
    },
  });
  const wrapped = (c: Context<HttpEnv>) => {
    const valid = (target: string): unknown => c.req.valid(target as never);
    const body = spec.body ? pickBody(c, valid, spec.body, spec.formBody ?? false) : undefined;
    return handler(c, {
      body: body as Out<B>,
      query: (spec.query ? valid('query') : undefined) as Out<Q>,
      params: (spec.params ? valid('param') : undefined) as Out<P>,
    });
  };
  router.app.openapi(route, wrapped as never);
  router.routes.push({
    method: spec.method,
    path: spec.path,
    access: spec.access,
    operationId,
    status,
    ...(schema ? { schema } : {}),
    ...(spec.devices ? { devices: true } : {}),
  });
}

function pickBody(c: Context<HttpEnv>, valid: (target: string) => unknown, schema: z.ZodType, form: boolean): unknown {
  if (!form) return valid('json');
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) return valid('form');
  if (type.includes('json')) return valid('json');
  // Neither validator ran (no body): report the missing fields like any other validation failure.
  const parsed = schema.safeParse({});
  if (!parsed.success) throw zodFailure(parsed.error);
  return parsed.data;
}
