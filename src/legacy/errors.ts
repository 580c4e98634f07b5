/**
 * v1 error envelopes → the FastAPI bodies the old app parses: `{"detail": "message"}`, and for
 * validation failures `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`. The status
 * code is v1's, unchanged.
 */

export interface FastApiValidationItem {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

export interface FastApiError {
  detail: string | FastApiValidationItem[];
}

/** Where a failing field came from, so `loc` can start with FastAPI's `path`, `query` or `body`. */
export interface FieldOrigin {
  pathParams: readonly string[];
  /** GET requests carry their fields in the query string; other methods in the body. */
  method: string;
}

/** Starlette's default phrases, for errors that carry no message of their own. */
const PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Not authenticated',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const phrase = (status: number) => PHRASES[status] ?? 'Error';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A coarse pydantic-style error type from v1's message; the old app shows `msg`, not `type`. */
function typeOf(message: string): string {
  if (/received undefined/.test(message)) return 'missing';
  const expected = /^Invalid input: expected (\w+)/.exec(message)?.[1];
  if (expected) return `${expected}_type`;
  if (message.startsWith('Invalid option')) return 'enum';
  if (message.startsWith('Unrecognized key')) return 'extra_forbidden';
  return 'value_error';
}

function locOf(path: string, origin: FieldOrigin): Array<string | number> {
  if (path === '') return ['body'];
  if (path.toLowerCase() === 'idempotency-key') return ['header', 'Idempotency-Key'];
  if (origin.pathParams.includes(path)) return ['path', path];
  const segments = path.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  return [origin.method === 'GET' ? 'query' : 'body', ...segments];
}

/** Translates one v1 error body; anything unexpected still yields a `detail` string. */
export function toFastApiError(status: number, body: unknown, origin: FieldOrigin): FastApiError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const message = typeof error?.message === 'string' ? error.message : phrase(status);
  if (error?.code !== 'VALIDATION_ERROR') return { detail: message };
  const details = Array.isArray(error.details) ? error.details.filter(isRecord) : [];
  if (details.length === 0) return { detail: [{ loc: ['body'], msg: message, type: 'value_error' }] };
  return {
    detail: details.map((d) => {
      const msg = typeof d.message === 'string' ? d.message : message;
      return { loc: locOf(typeof d.path === 'string' ? d.path : '', origin), msg, type: typeOf(msg) };
    }),
  };
}
