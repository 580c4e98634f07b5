import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullLag } from '../../sync/pull-lag.ts';
import { body } from '../helpers/app.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

let hq: Hq;
let edge: Edge;
let admin: string;
/** A second database on the HQ cluster, where an unrelated application keeps a transaction open. */
let otherUrl: string | undefined;
let otherDb: string;

beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(6, await hq.addSite(6));
  admin = (await edge.gw.login('admin')).token;
  if (hq.server.kind === 'postgres') {
    otherDb = `${hq.server.database}_other`;
    await hq.owner.query(`CREATE DATABASE ${otherDb}`);
    const u = new URL(hq.server.url);
    u.pathname = `/${otherDb}`;
    otherUrl = u.toString();
  }
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await edge?.close();
  if (otherUrl) await hq.owner.query(`DROP DATABASE IF EXISTS ${otherDb} WITH (FORCE)`);
  await hq?.close();
});

const status = async () =>
  (await body<{ online: boolean; last_error: string | null; pull_lag: PullLag | null }>(await edge.gw.req('GET', '/sync/status', { token: admin }))).data;
const lagGauge = async () => (await edge.gw.ctx.metrics.syncPullLag.get()).values[0]?.value;
const heldGauge = async () => (await edge.gw.ctx.metrics.syncPullHeld.get()).values[0]?.value;
const arrived = async (lot: string) => (await body<unknown[]>(await edge.gw.req('GET', `/workorders?lot_no=${lot}`, { token: admin }))).data.length > 0;

describe('pull lag', () => {
  // PGlite runs one transaction at a time and has one database: nothing can be held open beside the pull.
  it('shows a pull held back by a transaction open in another database, growing, and clears when it ends', async (ctx) => {
    if (!otherUrl) return ctx.skip();
    await edge.sync.runCycle();
    const other = new pg.Client({ connectionString: otherUrl });
    await other.connect();
    let open = true;
    try {
      await other.query('BEGIN');
      await other.query('CREATE TABLE held (x integer)');
      await other.query('INSERT INTO held VALUES (1)');
      await hqRows(
        hq,
        "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (6, 'HQ-LAG', 'LOT-LAG', 5, now(), now())",
      );

      await edge.sync.runCycle();
      const first = await status();
      // The pull succeeded and looks healthy by every older field...
      expect(first).toMatchObject({ online: true, last_error: null });
      // ...but it did not pass the change, and says so.
      expect(await arrived('LOT-LAG')).toBe(false);
      expect(first.pull_lag?.held_changes).toBeGreaterThanOrEqual(1);
      expect(first.pull_lag?.held_since).not.toBeNull();
      expect(first.pull_lag?.xids_behind).toBeGreaterThan(0);
      // What holds the horizon: the oldest open writing transaction on the cluster (ours, unless
      // another suite's is older); pg_stat_activity shows a site role its database and user.
      expect(first.pull_lag?.held_by).toMatchObject({ database: expect.any(String), user: expect.any(String) });
      expect(await heldGauge()).toBeGreaterThanOrEqual(1);

      edge.gw.clock.advance(30_000);
      await edge.sync.runCycle();
      const later = await status();
      expect(await arrived('LOT-LAG')).toBe(false);
      expect(later.pull_lag?.held_since).toBe(first.pull_lag?.held_since);
      expect(later.pull_lag?.lag_s).toBeGreaterThanOrEqual(30);
      expect(later.pull_lag?.lag_s).toBeGreaterThan(first.pull_lag?.lag_s ?? 0);
      expect(await lagGauge()).toBeGreaterThanOrEqual(30);

      await other.query('COMMIT');
      open = false;
    } finally {
      if (open) await other.query('ROLLBACK').catch(() => {});
      await other.end();
    }
    await pullUntil(edge, async () => (await arrived('LOT-LAG')) && (await status()).pull_lag?.held_changes === 0);
    expect(await arrived('LOT-LAG')).toBe(true);
    expect((await status()).pull_lag).toMatchObject({ held_changes: 0, held_since: null, lag_s: 0, held_by: null });
    expect(await lagGauge()).toBe(0);
    expect(await heldGauge()).toBe(0);
  });
});
