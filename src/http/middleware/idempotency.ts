import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppContext } from '../../context.ts';
import type { IdempotencyRecord } from '../../db/idempotency.ts';
import { AppError } from '../../errors.ts';
import type { HttpEnv, IdempotencyClaim } from '../types.ts';

/** What an Idempotency-Key may be (API.md): 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = 'must be 1–255 visible ASCII characters';

/**
 * Idempotency-Key on POST (authenticated routes that carry no credentials). A key seen before
 * with the same method, path and body replays the stored answer; with another body it is 422.
 * A new key is handed to the route, whose command stores the answer in the same transaction as
 * the change (src/http/command.ts): after a crash a key is either done or free, never stuck.
 * Keys are scoped per user and kept `idempotency_ttl_h` hours (at least 24).
 */
export function idempotency(ctx: AppContext): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const key = c.req.header('idempotency-key');
    const user = c.get('user');
    // Anonymous requests never take part: they would share one key space.
    if (key === undefined || !user) return next();
    if (!IDEMPOTENCY_KEY.test(key))
      throw new AppError('VALIDATION_ERROR', 'request validation failed', [{ path: 'Idempotency-Key', message: IDEMPOTENCY_KEY_RULE }]);
    const hash = createHash('sha256')
      .update(`${c.req.method} ${c.req.path}\n`)
      .update(await c.req.text())
      .digest('hex');
    const claim: IdempotencyClaim = { userId: user.id, key, hash };
    const done = ctx.store.read(() => ctx.store.idempotency.find(user.id, key));
    if (done) return replay(c, claim, done);
    c.set('idempotency', claim);
    return next();
  };
}

/** Answers with a stored response: fresh meta (this request's id), `Idempotent-Replayed: true`. */
export function replay(c: Context<HttpEnv>, claim: IdempotencyClaim, done: IdempotencyRecord): Response {
  if (done.request_hash !== claim.hash) {
    throw new AppError('VALIDATION_ERROR', 'this Idempotency-Key was used with a different request', [
      { path: 'Idempotency-Key', message: 'reused with a different body or path' },
    ]);
  }
  c.header('Idempotent-Replayed', 'true');
  if (!done.body) return c.body(null, done.status as 204);
  // `{"data": …}` for an answer, `{"error": …}` for a refusal (src/http/command.ts).
  const stored = JSON.parse(done.body) as { data: unknown } | { error: unknown };
  return c.json({ ...stored, meta: { request_id: c.get('requestId'), timestamp: new Date().toISOString() } }, done.status as ContentfulStatusCode);
}
