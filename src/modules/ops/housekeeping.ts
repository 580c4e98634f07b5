import type { AppContext } from '../../context.ts';
import { PRUNE_SYNCED_EVENTS, PRUNE_SYNCED_READINGS } from '../../../sync/retention.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Deletes at most `batch` rows per statement so no prune holds the write lock for long. */
function pruneInBatches(ctx: AppContext, sql: string, cutoff: number, batch = 500, maxRounds = 200): number {
  const stmt = ctx.store.sqlite.prepare(sql);
  let total = 0;
  for (let round = 0; round < maxRounds; round++) {
    const changes = ctx.store.commandNow(() => stmt.run(cutoff, batch).changes);
    total += changes;
    if (changes < batch) break;
  }
  return total;
}

/** One housekeeping pass: old idempotency keys, expired sessions, readings past retention. */
export function runHousekeeping(ctx: AppContext): Record<string, number> {
  const now = ctx.clock.now();
  const s = ctx.config.settings;
  return {
    idempotency_keys: pruneInBatches(
      ctx,
      'DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at < ? LIMIT ?)',
      now - s.idempotency_ttl_h * HOUR,
    ),
    sessions: pruneInBatches(ctx, 'DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < ? LIMIT ?)', now - DAY),
    // Past retention and already at HQ (no outbox row waiting; with sync off none ever waits).
    readings: pruneInBatches(ctx, PRUNE_SYNCED_READINGS, now - s.readings.retention_days * DAY),
    // Event rows go only once HQ has them (the trigger of migration 0002 refuses anything else).
    events: ctx.config.hq ? pruneInBatches(ctx, PRUNE_SYNCED_EVENTS, now - s.readings.retention_days * DAY) : 0,
  };
}

/** Runs housekeeping every minute; a failure is logged and retried on the next tick. */
export function startHousekeeping(ctx: AppContext, everyMs = 60_000) {
  const log = ctx.logger.child({ module: 'housekeeping' });
  const tick = () => {
    try {
      const removed = runHousekeeping(ctx);
      if (Object.values(removed).some((n) => n > 0)) log.info({ removed }, 'pruned');
    } catch (err) {
      log.warn({ err }, 'housekeeping failed');
    }
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return { name: 'housekeeping', stop: () => clearInterval(timer) };
}
