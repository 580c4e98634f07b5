import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, type DomainErrorCode } from '../errors.ts';
import { errorBody } from './envelope.ts';
import type { HttpEnv } from './types.ts';

/**
 * Codes only the HTTP layer answers: the request as it arrived could not be read (not JSON, too
 * large, too slow, not HTTP at all), or the gateway failed in a way no service planned for.
 * Services never throw these; they throw AppError with a DomainErrorCode.
 */
export const TRANSPORT_ERROR_CODES = ['MALFORMED_REQUEST', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL_ERROR'] as const;

/** A code of TRANSPORT_ERROR_CODES. */
export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

/** Every code of the error envelope (API.md, error codes). */
export type ErrorCode = DomainErrorCode | TransportErrorCode;

/** An answer of the HTTP layer itself, with a transport code; rendered like an AppError. */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly details = undefined;
  readonly retryAfterS = undefined;
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Either kind of error the gateway answers with the envelope. */
export type ApiError = AppError | TransportError;

const isTransportCode = (code: ErrorCode): code is TransportErrorCode => (TRANSPORT_ERROR_CODES as readonly ErrorCode[]).includes(code);

/** The error of a code, of whichever kind the code is. */
export const apiError = (code: ErrorCode, message: string): ApiError =>
  isTransportCode(code) ? new TransportError(code, message) : new AppError(code, message);

/**
 * The one error table: each code's HTTP status (API.md, error codes). The error answers, the
 * translation of the router's own exceptions and every operation's OpenAPI responses
 * (route-errors.ts) are read from it; test/error-table.test.ts holds it against API.md.
 */
export const ERROR_STATUS = {
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
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

/** Every code, in the table's order (by status). */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export const statusOf = (err: ApiError): ContentfulStatusCode => ERROR_STATUS[err.code];

/**
 * The code of an exception Hono or zod-openapi throws with a bare status (400 for JSON that does
 * not parse, 415 for another media type): the one code the table gives that client-error status.
 * A 5xx or a status the table does not name (or names twice, as 409) has none: such an exception is
 * a fault of ours, answered as INTERNAL_ERROR without its message.
 */
export function codeOfHttpException(status: number): ErrorCode | undefined {
  if (status >= 500) return undefined;
  const codes = ERROR_CODES.filter((code) => ERROR_STATUS[code] === status);
  return codes.length === 1 ? codes[0] : undefined;
}

/** The error envelope of every 4xx/5xx answer (API.md, errors), as OpenAPI and the tests' contract check read it. */
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

/** Headers an error's response carries: Retry-After when a retry may succeed, the bearer challenge on 401. */
function errorHeaders(err: ApiError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (err.retryAfterS !== undefined) headers['Retry-After'] = String(err.retryAfterS);
  if (err.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer';
  // The rest of a body too large is not read: the connection cannot carry another request.
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.Connection = 'close';
  return headers;
}

/** Renders an AppError or TransportError as the envelope with its status and headers. */
export function fail(c: Context<HttpEnv>, err: ApiError) {
  for (const [k, v] of Object.entries(errorHeaders(err))) c.header(k, v);
  return c.json(errorBody(err, c.get('requestId') ?? 'unknown'), statusOf(err));
}

/** True for an error the gateway answers as it is (not an unexpected fault). */
export const isApiError = (err: unknown): err is ApiError => err instanceof AppError || err instanceof TransportError;
