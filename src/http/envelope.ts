import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppError } from '../errors.ts';
import type { HttpEnv } from './types.ts';

/** All timestamps leave the gateway as UTC ISO 8601 with milliseconds. */
export function iso(ms: number): string;
export function iso(ms: number | null | undefined): string | null;
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function meta(c: Context<HttpEnv>, extra?: Record<string, unknown>) {
  return { request_id: c.get('requestId'), timestamp: new Date().toISOString(), ...extra };
}

export function ok<T>(c: Context<HttpEnv>, data: T, status: ContentfulStatusCode = 200) {
  return c.json({ data, meta: meta(c) }, status);
}

export function okList<T>(c: Context<HttpEnv>, data: T[], nextCursor: string | null) {
  return c.json({ data, meta: meta(c, { next_cursor: nextCursor }) }, 200);
}

/** The envelope body for an error (also used where no Hono context exists). */
export function errorBody(err: AppError, requestId: string) {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details !== undefined) error.details = err.details;
  return { error, meta: { request_id: requestId, timestamp: new Date().toISOString() } };
}
