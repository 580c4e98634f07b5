import { z } from '@hono/zod-openapi';
import type { AppContext } from '../../context.ts';
import { isMigrated } from '../../db/connection.ts';
import { AppError } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { defineRoute, raw, type Router } from '../../http/route.ts';
import { MIGRATION_COUNT } from '../../db/migrations-count.ts';
import { readSyncStatus } from '../../../sync/status.ts';

/** A device's entry of GET /drivers/status. */
export const deviceStatus = z
  .object({
    device: z.string(),
    protocol: z.string(),
    connected: z.boolean(),
    last_poll_at: z.string().nullable(),
    last_success_at: z.string().nullable(),
    last_error: z.string().nullable(),
    last_error_at: z.string().nullable(),
    poll_duration_ms: z.number().nullable(),
    tags_total: z.number().int(),
    tags_good: z.number().int(),
    tags_bad: z.number().int(),
    tags_uncertain: z.number().int(),
    queue_depth: z.number().int().optional().openapi({ description: 'A publisher: messages queued' }),
    dropped: z.number().int().optional().openapi({ description: 'A publisher: oldest messages dropped over the queue cap' }),
    skipped: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'A publisher: queued messages not sent because their row was deleted first (readings pruned by retention)' }),
    kind: z.enum(['device', 'publisher']).openapi({
      description: "A field device (the device file), or one of the gateway's outbound publishers (`mqtt-publisher`, `sparkplug-edge-node`)",
    }),
  })
  .openapi('DeviceStatus');

/** GET /health. */
export const health = z.object({ status: z.literal('ok'), uptime_s: z.number().int() }).openapi('Health');
/** GET /ready. */
export const ready = z.object({ status: z.literal('ready'), database: z.literal('ok'), migrations: z.number().int() }).openapi('Ready');
/** GET /sync/status. */
export const syncStatus = z
  .object({
    enabled: z.boolean(),
    /** Whether the last cycle reached HQ; null before the first one. */
    online: z.boolean().nullable(),
    backlog: z.number().int(),
    oldest_unsynced_at: z.string().nullable(),
    last_push_at: z.string().nullable(),
    last_pull_at: z.string().nullable(),
    last_error: z.string().nullable(),
    rejected: z
      .array(z.object({ id: z.number().int(), direction: z.string(), table: z.string(), key: z.string(), reason: z.string(), at: z.string() }))
      .openapi({ description: 'The newest 50 rows set aside (refused as rows, not retried); `gateway sync replay-rejected ID…` takes the id' }),
    rejected_counts: z
      .array(z.object({ direction: z.string(), table: z.string(), reason: z.string(), count: z.number().int(), last_at: z.string() }))
      .openapi({ description: 'Every row set aside, counted by direction, table and reason, most frequent first' }),
    pull_lag: z
      .object({
        held_changes: z.number().int(),
        held_since: z.string().nullable(),
        lag_s: z.number(),
        horizon_xid: z.string(),
        xids_behind: z.number().int(),
        held_by: z
          .object({
            database: z.string().nullable(),
            user: z.string().nullable(),
            application: z.string().nullable(),
            state: z.string().nullable(),
            xact_start: z.string().nullable(),
          })
          .nullable(),
      })
      .nullable()
      .openapi({
        description:
          "As of the last pull: HQ changes for the site that are committed but held back by a transaction open on HQ's cluster, since when, and that transaction where the site's role may see it; null before the first pull",
      }),
    clock: z
      .object({
        behind_ms: z.number(),
        hq_offset_ms: z.number().nullable(),
        limit_ms: z.number(),
        exceeded: z.boolean(),
        checked_at: z.string(),
      })
      .nullable()
      .openapi({
        description:
          "The edge's wall clock behind its own last clock value, and against HQ's clock at the last pull (SYNC_CLOCK_SKEW_LIMIT_MS); null before a check",
      }),
  })
  .openapi('SyncStatus');

/** A device's entry of GET /drivers/status, as the console reads it. */
export type DeviceStatusView = z.infer<typeof deviceStatus>;
/** GET /sync/status, as the console reads it. */
export type SyncStatusView = z.infer<typeof syncStatus>;

/** /health, /ready, /metrics, /drivers/status, /sync/status. */
export function registerOpsRoutes(router: Router, ctx: AppContext): void {
  defineRoute(router, { method: 'get', path: '/health', tag: 'operations', summary: 'Process alive', access: 'public', response: health }, () => ({
    // Literals stay literal only by `as const` here: the reply type is inferred with the spec.
    status: 'ok' as const,
    uptime_s: Math.round(process.uptime()),
  }));

  defineRoute(router, { method: 'get', path: '/ready', tag: 'operations', summary: 'Database open and migrated', access: 'public', response: ready }, () => {
    const open = ctx.store.sqlite.open;
    if (!open || !isMigrated(ctx.store.sqlite, MIGRATION_COUNT)) {
      throw new AppError('UNAVAILABLE', open ? 'database migrations are not applied' : 'database is not open');
    }
    return { status: 'ready', database: 'ok', migrations: MIGRATION_COUNT } as const;
  });

  const metricsAccess = ctx.config.metricsPublic ? 'public' : (['admin', 'manager'] as const);
  defineRoute(router, { method: 'get', path: '/metrics', tag: 'operations', summary: 'Prometheus metrics', access: metricsAccess }, async (c) => {
    const body = await ctx.metrics.registry.metrics();
    return raw(c.body(body, 200, { 'Content-Type': ctx.metrics.registry.contentType }));
  });

  defineRoute(
    router,
    {
      method: 'get',
      path: '/drivers/status',
      tag: 'operations',
      summary: 'Field driver status per device',
      access: ['admin', 'manager'],
      response: z.array(deviceStatus),
    },
    () =>
      ctx.statusBoard.entries().map((d) => ({
        ...d,
        last_poll_at: iso(d.last_poll_at),
        last_success_at: iso(d.last_success_at),
        last_error_at: iso(d.last_error_at),
      })),
  );

  defineRoute(
    router,
    { method: 'get', path: '/sync/status', tag: 'operations', summary: 'HQ sync status', access: ['admin', 'manager'], response: syncStatus },
    () => readSyncStatus(ctx.store.sqlite, ctx.config.hq !== undefined),
  );
}
