import type { Context } from 'hono';
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE } from '../http/middleware/idempotency.ts';
import type { HttpEnv } from '../http/types.ts';

/** Calls the v1 app in-process, as a client would over HTTP (the app's `request`). */
export type ApiFetch = (req: Request, env: Context<HttpEnv>['env']) => Response | Promise<Response>;

/** One API answer: the envelope's data on success, or its error. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; nextCursor?: string | null }
  | { ok: false; status: number; code: string; message: string; retryAfter: string | null };

/** A client bound to one console request: its token, its peer (for the login throttle) and request id. */
export interface ApiClient {
  call<T>(method: string, path: string, opts?: { body?: unknown; idempotencyKey?: string }): Promise<ApiResult<T>>;
}

/** A read the gateway could not answer (5xx): a page shows that, never an empty list in its place. */
export class ApiUnavailable extends Error {
  constructor(
    readonly retryAfter: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** The same client, except that a GET answered 5xx throws ApiUnavailable (for page renders). */
export function failingReads(api: ApiClient): ApiClient {
  return {
    async call<T>(method: string, path: string, opts?: { body?: unknown; idempotencyKey?: string }): Promise<ApiResult<T>> {
      const res = await api.call<T>(method, path, opts);
      if (!res.ok && res.status >= 500 && method === 'GET') throw new ApiUnavailable(res.retryAfter, res.message);
      return res;
    },
  };
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

export function apiClient(fetchApi: ApiFetch, c: Context<HttpEnv>, token: string | undefined): ApiClient {
  return {
    async call<T>(method: string, path: string, opts: { body?: unknown; idempotencyKey?: string } = {}): Promise<ApiResult<T>> {
      const headers = new Headers();
      for (const name of FORWARDED) {
        const value = c.req.header(name);
        if (value) headers.set(name, value);
      }
      headers.set('x-request-id', c.get('requestId'));
      if (token) headers.set('authorization', `Bearer ${token}`);
      if (opts.idempotencyKey) {
        // A form's hidden key edited into something no header can carry is refused as the API
        // refuses a malformed key, not thrown (a 500).
        if (!IDEMPOTENCY_KEY.test(opts.idempotencyKey)) {
          return { ok: false, status: 422, code: 'VALIDATION_ERROR', message: `Idempotency-Key ${IDEMPOTENCY_KEY_RULE}`, retryAfter: null };
        }
        headers.set('idempotency-key', opts.idempotencyKey);
      }
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(opts.body);
      }
      // c.env carries the socket, so the API sees the same peer address as the console did.
      const res = await fetchApi(new Request(new URL(path, 'http://gateway.internal'), { method, headers, body }), c.env);
      if (res.status === 204) return { ok: true, status: 204, data: undefined as T };
      const json = (await res.json().catch(() => ({}))) as { data?: T; meta?: { next_cursor?: string | null }; error?: { code?: string; message?: string } };
      if (res.ok) return { ok: true, status: res.status, data: json.data as T, nextCursor: json.meta?.next_cursor ?? null };
      return {
        ok: false,
        status: res.status,
        code: json.error?.code ?? 'INTERNAL_ERROR',
        message: json.error?.message ?? `HTTP ${res.status}`,
        retryAfter: res.headers.get('retry-after'),
      };
    },
  };
}
