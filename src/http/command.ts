import type { Context } from 'hono';
import type { AppContext } from '../context.ts';
import type { Tx } from '../db/command.ts';
import type { IdempotencyRecord } from '../db/idempotency.ts';
import { AppError } from '../errors.ts';
import { errorBody, ok } from './envelope.ts';
import { type ErrorCode, statusOf } from './errors.ts';
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
  const done: Done<J> = await ctx.store
    .command((tx): Done<J> => {
      const record = claim && ctx.store.idempotency.find(claim.userId, claim.key);
      if (claim && record) return { replayed: true, claim, record };
      const data = shape(run(tx));
      if (claim) {
        const body = status === 204 ? '' : JSON.stringify({ data });
        ctx.store.idempotency.record(claim.userId, claim.key, claim.hash, status, body, ctx.clock.now());
      }
      return { replayed: false, data };
    })
    .catch((err: unknown) => (claim ? storeRefusal(ctx, claim, err) : Promise.reject(err)));
  if (done.replayed) return replay(c, done.claim, done.record);
  return status === 204 ? c.body(null, 204) : ok(c, done.data, status);
}

/** Refusals a retry must get again (API.md: the first response, changing nothing); not those a retry may pass. */
const STORED_REFUSALS = new Set<ErrorCode>(['FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'INVALID_TRANSITION', 'VALIDATION_ERROR']);

/**
 * With an Idempotency-Key, the command's refusal (a state-machine 409, a 404, a rule's 422) is the
 * key's answer too: a late retry of a refused request is refused again instead of applying to a
 * state that has moved on meanwhile. Stored in a transaction of its own, since the command's
 * rolled back; a key answered meanwhile keeps that answer. Storage faults and throttling are not
 * stored: a retry of those should run. Rethrows err for the usual error answer.
 */
async function storeRefusal<J>(ctx: Pick<AppContext, 'store' | 'clock'>, claim: IdempotencyClaim, err: unknown): Promise<Done<J>> {
  if (!(err instanceof AppError) || !STORED_REFUSALS.has(err.code)) throw err;
  const { error } = errorBody(err, '');
  await ctx.store
    .command(() => ctx.store.idempotency.record(claim.userId, claim.key, claim.hash, statusOf(err), JSON.stringify({ error }), ctx.clock.now()))
    .catch((failed: unknown) => {
      // Storage unavailable (reported by the store): the key stays free and a retry runs again,
      // as before this refusal. Anything else is a fault of ours, answered and logged as one.
      if (!(failed instanceof AppError && failed.code === 'UNAVAILABLE')) throw failed;
    });
  throw err;
}

/** Answers a handler's `command` reply (see `defineRoute`). */
export const runCommand = <T>(c: Context<HttpEnv>, reply: CommandReply<T>, status: 200 | 201 | 204): Promise<Response> =>
  commandResponse(c, reply.ctx, status, reply.run, (data) => data);
