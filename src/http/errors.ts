import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppError, ErrorCode } from '../errors.ts';
import { errorBody } from './envelope.ts';
import type { HttpEnv } from './types.ts';

/** The one map from a domain error code to its HTTP status (API.md, error codes). */
const HTTP_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  MALFORMED_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_ERROR: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  UNAVAILABLE: 503,
};

export const statusOf = (err: AppError): ContentfulStatusCode => HTTP_STATUS[err.code];

/** Headers an error's response carries: Retry-After when a retry may succeed, the bearer challenge on 401. */
function errorHeaders(err: AppError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.retryAfterS !== undefined) headers['Retry-After'] = String(err.retryAfterS);
  if (err.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer';
  // The rest of a body too large is not read: the connection cannot carry another request.
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.Connection = 'close';
  return headers;
}

/** Renders an AppError as the envelope with its status and headers. */
export function fail(c: Context<HttpEnv>, err: AppError) {
  for (const [k, v] of Object.entries(errorHeaders(err))) c.header(k, v);
  return c.json(errorBody(err, c.get('requestId') ?? 'unknown'), statusOf(err));
}
