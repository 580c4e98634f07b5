import type { z } from '@hono/zod-openapi';
import type { ApiRoutes } from './routes.ts';

/** `METHOD /path` of a route in the table. */
export type RouteKey = keyof ApiRoutes & string;
/** An HTTP method the table uses. */
export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
/** The paths one method can be called on (`'/machines/{machine_id}'`). */
export type PathsOf<M extends ApiMethod> = RouteKey extends infer K ? (K extends `${M} ${infer P}` ? P : never) : never;
/** The table's key of a method and path. */
export type KeyOf<M extends ApiMethod, P extends string> = Extract<`${M} ${P}`, RouteKey>;

/** A schema as the table holds it, built where it is a factory of the plant's time zone (the type does not depend on the zone). */
type Built<S> = S extends z.ZodType ? S : S extends (plantTz: string) => infer R ? (R extends z.ZodType ? R : never) : never;
type Part<K extends RouteKey, P extends 'body' | 'query'> = ApiRoutes[K] extends Record<P, infer S> ? Built<S> : never;

/** What a route answers in the envelope's `data`: its response schema's type, an array of it for a list, nothing for a 204. */
export type ApiData<K extends RouteKey> = ApiRoutes[K] extends { response: infer R extends z.ZodType }
  ? ApiRoutes[K] extends { list: true }
    ? z.input<R>[]
    : z.input<R>
  : undefined;

/** One item of a list route's answer (the answer itself for other routes). */
export type ApiItem<K extends RouteKey> = ApiData<K> extends ReadonlyArray<infer I> ? I : ApiData<K>;

/** The body a route takes, as its schema accepts it. */
export type ApiBody<K extends RouteKey> = z.input<Part<K, 'body'>>;

/**
 * Form fields passed on as the user typed them, for the API to validate: the names are the body
 * schema's (a misspelt one does not compile), the values are whatever the form held.
 */
export type ApiFormFields<K extends RouteKey> = { [F in keyof ApiBody<K>]?: string | number | boolean | null };

/** A query value: an enum's members where the schema has one; ids and limits may be given as numbers. */
type QueryValue<T> = string extends NonNullable<T> ? string | number : NonNullable<T>;

/** The query a route takes: its schema's keys, each optional on the client's side as the API fills defaults. */
export type ApiQuery<K extends RouteKey> = { [Q in keyof z.input<Part<K, 'query'>>]?: QueryValue<z.input<Part<K, 'query'>>[Q]> };

/** The path parameters of a path, from its `{name}` segments. */
export type PathParams<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? { [_ in N]: string | number } & PathParams<Rest> : unknown;

type ParamsPart<P extends string> = P extends `${string}{${string}}${string}` ? { params: PathParams<P> } : { params?: never };
type QueryPart<K extends RouteKey> = ApiRoutes[K] extends { query: unknown } ? { query?: ApiQuery<K> } : { query?: never };
type BodyPart<K extends RouteKey> = ApiRoutes[K] extends { body: unknown }
  ? Record<never, never> extends ApiBody<K>
    ? { body?: ApiBody<K>; form?: never } | { form: ApiFormFields<K>; body?: never }
    : { body: ApiBody<K>; form?: never } | { form: ApiFormFields<K>; body?: never }
  : { body?: never; form?: never };

/** Everything a call of one route takes besides its path; `idempotencyKey` is sent as the header. */
export type ApiOptions<M extends ApiMethod, P extends string> = ParamsPart<P> &
  QueryPart<KeyOf<M, P>> &
  BodyPart<KeyOf<M, P>> & { idempotencyKey?: string | undefined };

/** The options argument: optional where nothing in it is required. */
export type ApiArgs<M extends ApiMethod, P extends string> =
  Record<never, never> extends ApiOptions<M, P> ? [options?: ApiOptions<M, P>] : [options: ApiOptions<M, P>];
