import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneChangeLog } from '../../sync/hq/prune.ts';
import { body } from '../helpers/app.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

let hq: Hq;
let edge: Edge;
let away: Edge | undefined;
let awayUrl: string;

beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(5, await hq.addSite(5));
  awayUrl = await hq.addSite(6);
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await away?.close();
  await edge?.close();
  await hq?.close();
});

const planWorkOrder = async (site: number, product: string) => {
  const [row] = await hqRows<{ id: number }>(
    hq,
    "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES ($1, $2, 'L', 5, '2026-12-01T06:00Z', '2026-12-01T14:00Z') RETURNING id",
    [site, product],
  );
  if (!row) throw new Error('insert failed');
  return row.id;
};
const logCount = async (site: number) =>
  Number((await hqRows<{ n: number }>(hq, 'SELECT count(*) AS n FROM sync_change_log WHERE site_id = $1', [site]))[0]?.n);
const seesWorkOrder = async (e: Edge, id: number) => {
  const token = (await e.gw.login('planner')).token;
  return (await e.gw.req('GET', `/workorders/${id}`, { token })).status === 200;
};

describe('HQ change-log pruning', () => {
  it('drops the entries a site has pulled and keeps those it has not', async () => {
    const pulledId = await planWorkOrder(5, 'PRUNE-PULLED');
    await pullUntil(edge, () => seesWorkOrder(edge, pulledId));
    // The next pull reports the cursor the edge saved, which is what HQ prunes by.
    await edge.sync.runCycle();
    await planWorkOrder(6, 'FOR-SITE-6');
    expect(await logCount(5)).toBeGreaterThan(0);
    const before6 = await logCount(6);

    const r = await pruneChangeLog(hq.owner, 30);
    expect(r.pulled).toBeGreaterThan(0);
    expect(r.expired).toBe(0);
    expect(await hqRows(hq, "SELECT 1 FROM sync_change_log WHERE site_id = 5 AND tbl = 'work_orders' AND pk = $1", [String(pulledId)])).toEqual([]);
    expect(await logCount(6)).toBe(before6);

    // Pruning changed nothing a site sees: later HQ changes still arrive.
    const laterId = await planWorkOrder(5, 'PRUNE-LATER');
    await pullUntil(edge, () => seesWorkOrder(edge, laterId));
    expect(await seesWorkOrder(edge, laterId)).toBe(true);
  });

  it('expires entries older than the horizon; a site away that long re-reads its rows and goes on from the log', async () => {
    const planned = await planWorkOrder(6, 'WHILE-AWAY');
    await hqRows(hq, 'UPDATE work_orders SET qty = 9 WHERE id = $1', [planned]);
    await hqRows(hq, "UPDATE sync_change_log SET at = now() - interval '40 days' WHERE site_id = 6");
    const r = await pruneChangeLog(hq.owner, 30);
    expect(r.expired).toBeGreaterThan(0);
    expect(await logCount(6)).toBe(0);

    away = startEdge(6, awayUrl);
    const site6 = away;
    await pullUntil(site6, () => seesWorkOrder(site6, planned));
    const token = (await site6.gw.login('planner')).token;
    const wo = await body<{ qty: number; product_code: string }>(await site6.gw.req('GET', `/workorders/${planned}`, { token }));
    expect(wo.data).toMatchObject({ product_code: 'WHILE-AWAY', qty: 9 });

    const next = await planWorkOrder(6, 'AFTER-RETURN');
    await pullUntil(site6, () => seesWorkOrder(site6, next));
    expect(await seesWorkOrder(site6, next)).toBe(true);
  });

  it('refuses a horizon that is not a positive number of days, deleting nothing', async () => {
    await planWorkOrder(6, 'KEEP');
    const before = await logCount(6);
    await expect(pruneChangeLog(hq.owner, 0)).rejects.toThrow(/at least 1/);
    await expect(hqRows(hq, "SELECT * FROM gw_prune_change_log(interval '-1 day')")).rejects.toThrow(/positive interval/);
    expect(await logCount(6)).toBe(before);
  });

  it('is callable by HQ without our code, and not by a site role', async () => {
    await expect(hqRows(hq, "SELECT pulled, expired FROM gw_prune_change_log(interval '30 days')")).resolves.toHaveLength(1);
    if (hq.server.kind !== 'postgres') return;
    const site = new URL(awayUrl);
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: site.toString() });
    await client.connect();
    try {
      await expect(client.query('SELECT * FROM gw_prune_change_log()')).rejects.toThrow(/permission denied|row-level security/);
    } finally {
      await client.end();
    }
  });
});
