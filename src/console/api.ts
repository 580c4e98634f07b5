import type { Context } from 'hono';
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from '../http/middleware/idempotency.ts';
import type { HttpEnv } from '../http/types.ts';
import { type ApiClient, type ApiRequest, type ApiResult, typedClient } from '../client/client.ts';

export type { ApiClient, ApiResult };

/** Calls the v1 app in-process, as a client would over HTTP (the app's `request`). */
export type ApiFetch = (req: Request, env: Context<HttpEnv>['env']) => Response | Promise<Response>;

/** A read the gateway could not answer (5xx): a page shows that, never an empty list in its place. */
export class ApiUnavailable extends Error {
  constructor(
    readonly retryAfter: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** For a page that shows what it can: a read the gateway could not answer becomes its failed result. */
export function partialRead<T>(read: Promise<ApiResult<T>>): Promise<ApiResult<T>> {
  return read.catch((err: unknown) => {
    if (!(err instanceof ApiUnavailable)) throw err;
    return { ok: false, status: 503, code: 'UNAVAILABLE', message: err.message, retryAfter: err.retryAfter };
  });
}

// Headers worth passing through: the proxy chain keeps the client's address for the login throttle.
const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'user-agent'];

/**
 * The typed client bound to one console request: its token, its peer (for the login throttle) and
 * request id. With `failReads`, a GET answered 5xx throws ApiUnavailable (for page renders).
 */
export function apiClient(fetchApi: ApiFetch, c: Context<HttpEnv>, token: string | undefined, opts: { failReads?: boolean } = {}): ApiClient {
  return typedClient(async (request) => {
    const res = await send(fetchApi, c, token, request);
    if (opts.failReads && !res.ok && res.status >= 500 && request.method === 'GET') throw new ApiUnavailable(res.retryAfter, res.message);
    return res;
  });
}

async function send(fetchApi: ApiFetch, c: Context<HttpEnv>, token: string | undefined, request: ApiRequest): Promise<ApiResult<unknown>> {
  const headers = new Headers();
  for (const name of FORWARDED) {
    const value = c.req.header(name);
    if (value) headers.set(name, value);
  }
  headers.set('x-request-id', c.get('requestId'));
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (request.idempotencyKey) {
    // A form's hidden key edited into something no header can carry is refused as the API
    // refuses a malformed key, not thrown (a 500).
    if (!IDEMPOTENCY_KEY.test(request.idempotencyKey)) {
      return { ok: false, status: 422, code: 'VALIDATION_ERROR', message: `Idempotency-Key ${IDEMPOTENCY_KEY_RULE}`, retryAfter: null };
    }
    headers.set('idempotency-key', request.idempotencyKey);
  }
  let body: string | undefined;
  if (request.body !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(request.body);
  }
  // c.env carries the socket, so the API sees the same peer address as the console did.
  const res = await fetchApi(new Request(new URL(request.path, 'http://gateway.internal'), { method: request.method, headers, body }), c.env);
  if (res.status === 204) return { ok: true, status: 204, data: undefined };
  const json = (await res.json().catch(() => ({}))) as { data?: unknown; meta?: { next_cursor?: string | null }; error?: { code?: string; message?: string } };
  if (res.ok) return { ok: true, status: res.status, data: json.data, nextCursor: json.meta?.next_cursor ?? null };
  return {
    ok: false,
    status: res.status,
    code: json.error?.code ?? 'INTERNAL_ERROR',
    message: json.error?.message ?? `HTTP ${res.status}`,
    retryAfter: res.headers.get('retry-after'),
  };
}
