import type { Context } from 'hono';
import type { AppContext } from '../context.ts';
import type { Tx } from '../db/command.ts';
import type { IdempotencyRecord } from '../db/idempotency.ts';
import { ok } from './envelope.ts';
import { replay } from './middleware/idempotency.ts';
import type { HttpEnv, IdempotencyClaim } from './types.ts';

type Done<J> = { replayed: false; data: J } | { replayed: true; claim: IdempotencyClaim; record: IdempotencyRecord };

/**
 * Runs a route's command and answers with `status`. The reply's data is built inside the
 * transaction so that, with an Idempotency-Key, the stored answer commits with the change itself.
 * The key is checked again inside the transaction: of two concurrent requests with one key, the
 * second replays the first instead of applying twice.
 */
export async function commandResponse<T, J>(
  c: Context<HttpEnv>,
  ctx: Pick<AppContext, 'store' | 'clock'>,
  status: 200 | 201 | 204,
  run: (tx: Tx) => T,
  shape: (value: T) => J,
): Promise<Response> {
  const claim = c.get('idempotency');
  const done: Done<J> = await ctx.store.command((tx) => {
    const record = claim && ctx.store.idempotency.find(claim.userId, claim.key);
    if (claim && record) return { replayed: true, claim, record };
    const data = shape(run(tx));
    if (claim) {
      const body = status === 204 ? '' : JSON.stringify({ data });
      ctx.store.idempotency.record(claim.userId, claim.key, claim.hash, status, body, ctx.clock.now());
    }
    return { replayed: false, data };
  });
  if (done.replayed) return replay(c, done.claim, done.record);
  return status === 204 ? c.body(null, 204) : ok(c, done.data, status);
}
