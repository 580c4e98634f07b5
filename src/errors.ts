/** Error codes of the API envelope (API.md), each with its HTTP status. */
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
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

/** The one error type services and routes throw; onError renders it as the envelope. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[] | Record<string, unknown>,
    /** Extra response headers (Retry-After, ...). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'not allowed for your role') => new AppError('FORBIDDEN', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const validation = (path: string, message: string) => new AppError('VALIDATION_ERROR', 'request validation failed', [{ path, message }]);
export const invalidTransition = (entity: string, from: string, to: string) =>
  new AppError('INVALID_TRANSITION', `${entity} cannot go from ${from} to ${to}`, { from, to });

const STORAGE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

/** Storage faults a client cannot cause (disk full, lock held past busy_timeout) become 503. */
export function storageError(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STORAGE_CODES.test(code)) {
    return new AppError('UNAVAILABLE', 'storage is temporarily unavailable; retry shortly', undefined, {
      'Retry-After': '1',
    });
  }
  return undefined;
}
