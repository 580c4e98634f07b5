import type pg from 'pg';
import { migrateHq } from '../../sync/hq/migrate.ts';
import { createHqPool } from '../../sync/hq/pool.ts';
import { addSite, siteUrl } from '../../sync/hq/sites.ts';
import { syncGauges } from '../../sync/index.ts';
import { createSyncWorker, type SyncWorker, type SyncWorkerOptions } from '../../sync/worker.ts';
import { makeGateway, type TestGateway } from '../helpers/app.ts';
import { type HqTestServer, startHqServer } from './hq-server.ts';

/** Starting embedded PGlite (WASM compile and initdb) takes tens of seconds on a busy box. */
export const HQ_START_TIMEOUT = 180_000;

export interface Hq {
  server: HqTestServer;
  /** Owner pool: what an HQ tool writing plain SQL uses. */
  owner: pg.Pool;
  /** Registers a site; returns the URL its edge uses (the site's own login role on a real server). */
  addSite(site: number): Promise<string>;
  close(): Promise<void>;
}

export async function startHq(): Promise<Hq> {
  const server = await startHqServer();
  const owner = createHqPool({ url: server.url, schema: 'public', max: 4 });
  await migrateHq(owner, 'public');
  return {
    server,
    owner,
    async addSite(site) {
      const password = `site-${site}-password-for-tests`;
      const role = await addSite(owner, 'public', site, password);
      // PGlite's socket server has one user; row-level security is checked there with SET ROLE.
      if (server.kind === 'pglite') return server.url;
      const u = new URL(siteUrl(server.url, role));
      u.password = password;
      return u.toString();
    },
    async close() {
      await owner.end();
      await server.close();
    },
  };
}

export interface Edge {
  gw: TestGateway;
  sync: SyncWorker;
  site: number;
  close(): Promise<void>;
}

/** A gateway of one site with its sync worker (not started: tests run cycles themselves). */
export function startEdge(site: number, url: string, opts: { hooks?: SyncWorkerOptions['hooks']; settings?: string } = {}): Edge {
  const gw = makeGateway({ SITE_ID: String(site), HQ_DATABASE_URL: url, SYNC_INTERVAL_MS: '500' }, undefined, opts.settings);
  const sync = createSyncWorker({
    sqlite: gw.ctx.store.sqlite,
    site,
    hq: { url, schema: 'public' },
    intervalMs: 500,
    now: () => gw.ctx.clock.now(),
    log: { info: () => {}, warn: () => {} },
    gauges: syncGauges(gw.ctx.metrics),
    publish: gw.ctx.bus.publish,
    hooks: opts.hooks,
  });
  return {
    gw,
    sync,
    site,
    async close() {
      await sync.stop();
      gw.close();
    },
  };
}

export async function hqRows<T = Record<string, unknown>>(hq: Hq, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await hq.owner.query(sql, params)).rows as T[];
}

/**
 * Runs sync cycles until `done` holds (for at most 20 s, 20 ms apart). Pull never reads past the oldest
 * transaction open anywhere on the server, and other test files share that server, so one cycle
 * may rightly stop short of an HQ change made just before; a change that never arrives still fails.
 */
/** Waits (20 s at most) until every change HQ logged for `site` is below the pull's horizon. */
export async function waitForHorizon(hq: Hq, site: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await hq.owner.query<{ clear: boolean }>(
      'SELECT coalesce(max(xid) < pg_snapshot_xmin(pg_current_snapshot()), true) AS clear FROM sync_change_log WHERE site_id = $1',
      [site],
    );
    if (res.rows[0]?.clear) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`HQ's pull horizon stayed behind site ${site}'s changes for 20 s: a transaction open elsewhere on the server holds it`);
}

export async function pullUntil(edge: Edge, done: () => boolean | Promise<boolean>): Promise<void> {
  // Bounded by time, not rounds: how long another suite's transaction holds xmin back does not
  // depend on how fast our cycles run.
  const deadline = Date.now() + 20_000;
  do {
    await edge.sync.runCycle();
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() < deadline);
}
