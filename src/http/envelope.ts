import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppError } from '../errors.ts';
import { isoNow } from '../core/iso.ts';
import type { HttpEnv } from './types.ts';

/** One header only: Hono then hands node-server a plain record instead of building a Headers object. */
const JSON_TYPE = { 'Content-Type': 'application/json' };

/**
 * `c.json({ data, meta })`, stringified in one pass without the intermediate envelope objects.
 * Same bytes: keys in the same order, and an absent request id or data is left out as before.
 */
function envelope(c: Context<HttpEnv>, data: unknown, status: ContentfulStatusCode, nextCursor?: string | null) {
  const requestId = c.get('requestId');
  if (data === undefined || requestId === undefined) {
    const meta = { request_id: requestId, timestamp: isoNow(), ...(nextCursor === undefined ? {} : { next_cursor: nextCursor }) };
    return c.json({ data, meta }, status);
  }
  const cursor = nextCursor === undefined ? '' : `,"next_cursor":${JSON.stringify(nextCursor)}`;
  return c.body(`{"data":${JSON.stringify(data)},"meta":{"request_id":${JSON.stringify(requestId)},"timestamp":"${isoNow()}"${cursor}}}`, status, JSON_TYPE);
}

export function ok<T>(c: Context<HttpEnv>, data: T, status: ContentfulStatusCode = 200) {
  return envelope(c, data, status);
}

export function okList<T>(c: Context<HttpEnv>, data: T[], nextCursor: string | null) {
  return envelope(c, data, 200, nextCursor);
}

/** The envelope body for an error (also used where no Hono context exists). */
export function errorBody(err: AppError, requestId: string) {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details !== undefined) error.details = err.details;
  return { error, meta: { request_id: requestId, timestamp: isoNow() } };
}
