import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../context.ts';
import { createIdempotencyStore } from '../../db/idempotency.ts';
import { AppError } from '../../errors.ts';
import type { HttpEnv } from '../types.ts';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** status 0 marks a request still running (or interrupted by a crash after it committed). */
const IN_FLIGHT = 0;

/**
 * Idempotency-Key on POST: the key is claimed before the handler runs, and the 2xx response is
 * stored after. A retry with the same key and body replays the stored response; another body is
 * 422; a retry while the first is still running (or was cut off by a crash) is 409, never a second
 * application. Keys are scoped per user and kept `idempotency_ttl_h` hours (at least 24).
 */
export function idempotency(ctx: AppContext): MiddlewareHandler<HttpEnv> {
  const keys = createIdempotencyStore(ctx.store.sqlite);

  return async (c, next) => {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!KEY.test(key))
      throw new AppError('VALIDATION_ERROR', 'request validation failed', [{ path: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' }]);
    const userId = c.get('user')?.id ?? 0;
    const hash = createHash('sha256')
      .update(`${c.req.method} ${c.req.path}\n`)
      .update(await c.req.text())
      .digest('hex');
    const outcome = await ctx.store.command(() => {
      const existing = keys.find(userId, key);
      if (!existing) {
        keys.claim(userId, key, hash, ctx.clock.now());
        return undefined;
      }
      return existing;
    });
    if (outcome) {
      if (outcome.request_hash !== hash) {
        throw new AppError('VALIDATION_ERROR', 'this Idempotency-Key was used with a different request', [
          { path: 'Idempotency-Key', message: 'reused with a different body or path' },
        ]);
      }
      if (outcome.status === IN_FLIGHT)
        throw new AppError('CONFLICT', 'a request with this Idempotency-Key is in progress or was interrupted; check the resource before retrying');
      c.header('Idempotent-Replayed', 'true');
      return outcome.body ? c.body(outcome.body, outcome.status as 200, { 'Content-Type': 'application/json' }) : c.body(null, outcome.status as 204);
    }
    try {
      await next();
    } finally {
      const status = c.res.status;
      if (status >= 200 && status < 300) {
        const body = status === 204 ? '' : await c.res.clone().text();
        await ctx.store.command(() => keys.complete(userId, key, status, body));
      } else {
        await ctx.store.command(() => keys.release(userId, key));
      }
    }
  };
}
