import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isoNow } from '../core/iso.ts';
import { JsonText } from './json-rows.ts';
import type { HttpEnv } from './types.ts';

/** One header only: Hono then hands node-server a plain record instead of building a Headers object. */
const JSON_TYPE = { 'Content-Type': 'application/json' };

/**
 * Speed-up "hand-built envelope string" (issue 7): `c.json({ data, meta })`, stringified in one
 * pass without the intermediate envelope objects, and handed to Hono with a single Content-Type
 * so @hono/node-server answers from a plain header record instead of building a `Headers` object
 * (with X-Request-Id set on Node's response by request-context.ts): the Headers path was ~3% of
 * a small read's CPU profile and the envelope with its ISO work ~2% (docs/benchmarks.md, "Issue 7").
 * Same bytes: keys in the same order, and an absent request id or data is left out as before.
 */
function envelope(c: Context<HttpEnv>, data: unknown, status: ContentfulStatusCode, nextCursor?: string | null) {
  const requestId = c.get('requestId');
  if (data === undefined || requestId === undefined) {
    const meta = { request_id: requestId, timestamp: isoNow(), ...(nextCursor === undefined ? {} : { next_cursor: nextCursor }) };
    return c.json({ data: data instanceof JsonText ? JSON.parse(data.text) : data, meta }, status);
  }
  const cursor = nextCursor === undefined ? '' : `,"next_cursor":${JSON.stringify(nextCursor)}`;
  // Data already written as JSON (json-rows.ts, the row JSON cache) goes in as it is.
  return c.body(
    `{"data":${data instanceof JsonText ? data.text : JSON.stringify(data)},"meta":{"request_id":${JSON.stringify(requestId)},"timestamp":"${isoNow()}"${cursor}}}`,
    status,
    JSON_TYPE,
  );
}

export function ok<T>(c: Context<HttpEnv>, data: T, status: ContentfulStatusCode = 200) {
  return envelope(c, data, status);
}

export function okList<T>(c: Context<HttpEnv>, data: T[] | JsonText<T[]>, nextCursor: string | null) {
  return envelope(c, data, 200, nextCursor);
}

/** The envelope body for an error (also used where no Hono context exists). */
export function errorBody(err: { code: string; message: string; details?: unknown }, requestId: string) {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details !== undefined) error.details = err.details;
  return { error, meta: { request_id: requestId, timestamp: isoNow() } };
}
