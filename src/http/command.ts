import type { Context } from 'hono';
import type { AppContext } from '../context.ts';
import type { Tx } from '../db/command.ts';
import type { IdempotencyRecord } from '../db/idempotency.ts';
import { ok } from './envelope.ts';
import { replay } from './middleware/idempotency.ts';
import type { HttpEnv, IdempotencyClaim } from './types.ts';

/** A route's change, as its handler returns it: `defineRoute` runs it with `commandResponse` and the route's status. */
export class CommandReply<T> {
  constructor(
    readonly ctx: Pick<AppContext, 'store' | 'clock'>,
    readonly run: (tx: Tx) => T,
  ) {}
}

/** A handler's reply that changes data: `run` gets the command's transaction and returns the answer's data. */
export const command = <T>(ctx: Pick<AppContext, 'store' | 'clock'>, run: (tx: Tx) => T): CommandReply<T> => new CommandReply(ctx, run);

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

/** Answers a handler's `command` reply (see `defineRoute`). */
export const runCommand = <T>(c: Context<HttpEnv>, reply: CommandReply<T>, status: 200 | 201 | 204): Promise<Response> =>
  commandResponse(c, reply.ctx, status, reply.run, (data) => data);
