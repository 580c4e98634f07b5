import type { ApiArgs, ApiData, ApiMethod, KeyOf, PathsOf } from './types.ts';

/** One API answer: the envelope's data on success, or its error. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T; nextCursor?: string | null }
  | { ok: false; status: number; code: string; message: string; retryAfter: string | null };

/** What a transport is handed: the method, the path with its query, and the JSON body if any. */
export interface ApiRequest {
  method: ApiMethod;
  path: string;
  body?: unknown;
  idempotencyKey?: string | undefined;
}

/** Carries one request to the v1 app and reads its envelope (the console's is in-process). */
export type ApiTransport = (request: ApiRequest) => Promise<ApiResult<unknown>>;

type Call<M extends ApiMethod> = <P extends PathsOf<M>>(path: P, ...args: ApiArgs<M, P>) => Promise<ApiResult<ApiData<KeyOf<M, P>>>>;

/**
 * A client typed by the route table (`./routes.ts`): a path is one the app registers, its
 * parameters, query and body are the route's, and the answer's data has the route's response
 * type. `api.get('/machines/{machine_id}', { params: { machine_id: 7 } })` answers a machine
 * whose `location` is `string | null`, as the API's schema says.
 */
export interface ApiClient {
  get: Call<'GET'>;
  post: Call<'POST'>;
  patch: Call<'PATCH'>;
  put: Call<'PUT'>;
  delete: Call<'DELETE'>;
}

interface LooseOptions {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  form?: unknown;
  idempotencyKey?: string | undefined;
}

/**
 * The path to request: `{name}` segments filled from `params` (URL-encoded, so a value typed
 * into a console URL cannot reach another route) and the query's given values appended.
 */
export function requestPath(pattern: string, params: Record<string, string | number> = {}, query: Record<string, string | number | undefined> = {}): string {
  const path = pattern.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${pattern}: path parameter ${name} missing`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
  const qs = search.toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/** Builds the typed client on a transport. */
export function typedClient(transport: ApiTransport): ApiClient {
  const call =
    (method: ApiMethod) =>
    (path: string, options: LooseOptions = {}): Promise<ApiResult<unknown>> =>
      transport({
        method,
        path: requestPath(path, options.params, options.query),
        body: options.body ?? options.form,
        idempotencyKey: options.idempotencyKey,
      });
  // The one place the answer's type is asserted: the route table names each route's response
  // schema, and test/api-client.test.ts checks the table against the routes the app registers.
  return { get: call('GET'), post: call('POST'), patch: call('PATCH'), put: call('PUT'), delete: call('DELETE') } as unknown as ApiClient;
}
