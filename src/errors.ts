/**
 * What a service or the guard can refuse, in domain terms (API.md, error codes). The codes of a
 * request that could not be read (bad JSON, a body too large, …) belong to the HTTP layer
 * (`TRANSPORT_ERROR_CODES`, src/http/errors.ts), whose one table maps every code to its status.
 */
export const DOMAIN_ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_TRANSITION',
  'VALIDATION_ERROR',
  'RATE_LIMITED',
  'UNAVAILABLE',
] as const;

/** A code of DOMAIN_ERROR_CODES. */
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

/**
 * The one error type services and routes throw. It says what went wrong in domain terms and
 * carries no HTTP status: the HTTP layer maps the code (src/http/errors.ts).
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: ErrorDetail[] | Record<string, unknown>,
    /** When a retry may succeed, in seconds (rate limits, storage faults). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'not allowed for your role') => new AppError('FORBIDDEN', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const validation = (path: string, message: string) => new AppError('VALIDATION_ERROR', 'request validation failed', [{ path, message }]);
export const invalidTransition = (entity: string, from: string, to: string) =>
  new AppError('INVALID_TRANSITION', `${entity} cannot go from ${from} to ${to}`, { from, to });

const STORAGE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL|CORRUPT|NOTADB)/;

/** The SQLite result code of a storage fault a client cannot cause (disk full, lock held, I/O error). */
export function storageFaultCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORAGE_CODES.test(code) ? code : undefined;
}

/** A storage fault as the client sees it: 503 UNAVAILABLE, retry shortly. */
export const unavailable = (message = 'storage is temporarily unavailable; retry shortly') => new AppError('UNAVAILABLE', message, undefined, 1);
