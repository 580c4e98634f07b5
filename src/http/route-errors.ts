import type { RouteConfig } from '@hono/zod-openapi';
import type { DomainErrorCode } from '../errors.ts';
import { ERROR_CODES, ERROR_STATUS, type ErrorCode, errorEnvelope } from './errors.ts';
import type { RouteSpec } from './route.ts';

/** What of a route's spec decides the errors it can answer. */
type ErrorFacts = Pick<RouteSpec, 'method' | 'access' | 'devices' | 'body' | 'params' | 'query' | 'errors'>;

/**
 * The error codes one operation can answer, in the table's order: those its spec implies, plus the
 * ones its handler declares (`errors`: a service's 409, a 404 for a resource the path does not
 * name, a throttle's 429, a public login's 401). The tests' contract check fails any error answer
 * whose code is not listed here, so the list cannot silently fall behind the code.
 */
export function errorsOf(spec: ErrorFacts, idempotent: boolean): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors ?? []);
  // Any request: a fault of ours, or storage that cannot take the request now.
  codes.add('INTERNAL_ERROR').add('UNAVAILABLE');
  // The body limit applies to every method that may carry a body, declared or not.
  if (spec.method !== 'get') codes.add('PAYLOAD_TOO_LARGE');
  // Only a declared body is parsed: JSON that does not parse, another media type, failed validation.
  if (spec.body) codes.add('MALFORMED_REQUEST').add('UNSUPPORTED_MEDIA_TYPE').add('VALIDATION_ERROR');
  if (spec.query || idempotent) codes.add('VALIDATION_ERROR');
  // A path names a resource that may not exist, and an id that may not be one.
  if (spec.params) codes.add('NOT_FOUND').add('VALIDATION_ERROR');
  if (spec.access !== 'public') {
    codes.add('UNAUTHORIZED');
    // The guard refuses the roles a list leaves out, and device accounts unless the route takes them.
    if (typeof spec.access !== 'string' || !spec.devices) codes.add('FORBIDDEN');
  }
  return ERROR_CODES.filter((code) => codes.has(code));
}

/** The OpenAPI responses for those codes: one per status, described by the codes it stands for. */
export function errorResponses(codes: readonly ErrorCode[]): RouteConfig['responses'] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, of]) => [String(status), { description: of.join(' or '), content: { 'application/json': { schema: errorEnvelope } } }]),
  );
}

/** Codes a handler may declare beyond what its spec implies: the domain's, never the transport's. */
export type DeclaredErrors = readonly DomainErrorCode[];
