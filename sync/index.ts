import type { AppContext } from '../src/context.ts';
import { createSyncWorker, type SyncGauges, type SyncWorker } from './worker.ts';

/** prom-client figures for the worker. */
export function syncGauges(m: AppContext['metrics']): SyncGauges {
  return {
    online: (v) => m.syncOnline.set(v ? 1 : 0),
    backlog: (rows, age) => {
      m.syncBacklog.set(rows);
      m.syncOldestAge.set(age);
    },
    pushed: (n) => m.syncRows.inc({ direction: 'push' }, n),
    pulled: (n) => m.syncRows.inc({ direction: 'pull' }, n),
    error: () => m.syncErrors.inc(),
    pullLag: (seconds, held) => {
      m.syncPullLag.set(seconds);
      m.syncPullHeld.set(held);
    },
    clock: (behind, offset, exceeded) => {
      m.syncClockBehind.set(behind);
      m.syncClockHqOffset.set(offset);
      m.syncClockSkewExceeded.set(exceeded ? 1 : 0);
    },
  };
}

/** The sync worker for a configured gateway (HQ_DATABASE_URL set); the caller starts it. */
export function createGatewaySync(ctx: AppContext, progress?: (line: string) => void): SyncWorker | undefined {
  const hq = ctx.config.hq;
  if (!hq) return undefined;
  return createSyncWorker({
    sqlite: ctx.store.sqlite,
    site: ctx.config.siteId,
    hq,
    intervalMs: ctx.config.syncIntervalMs,
    clockSkewLimitMs: ctx.config.syncClockSkewLimitMs,
    now: () => ctx.clock.now(),
    log: ctx.logger.child({ module: 'sync' }),
    gauges: syncGauges(ctx.metrics),
    publish: ctx.bus.publish,
    progress,
  });
}
