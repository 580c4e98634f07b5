import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { body, rowCount } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq, waitForHorizon } from './fixture.ts';

// A full disk at the edge while sync runs. The storage fault is the edge's own condition, never a
// verdict on the rows: a pull that cannot be stored is retried whole (nothing set aside, the
// cursor not moved), a push that cannot record its acknowledgement is resent and applied once.
// The disk is "full" when the database file reaches a max_page_count set to its current size.

let hq: Hq;
let edge: Edge | undefined;
const urls = new Map<number, string>();
beforeAll(async () => {
  hq = await startHq();
  for (const site of [3, 4]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
afterEach(async () => {
  await edge?.close();
  edge = undefined;
});
afterAll(async () => {
  await hq?.close();
});

function open(site: number): Edge {
  const url = urls.get(site);
  if (!url) throw new Error(`site ${site} not registered`);
  edge = startEdge(site, url);
  return edge;
}

const fillDisk = (e: Edge) => {
  const pages = e.gw.ctx.store.sqlite.pragma('page_count', { simple: true }) as number;
  e.gw.ctx.store.sqlite.pragma(`max_page_count = ${pages}`);
};
const freeDisk = (e: Edge) => e.gw.ctx.store.sqlite.pragma('max_page_count = 1073741823');
const count = async (sql: string, params: unknown[] = []) => Number((await hqRows<{ n: number }>(hq, sql, params))[0]?.n);
const pullCursor = (e: Edge) => e.gw.ctx.store.sqlite.prepare("SELECT value FROM sync_meta WHERE key IN ('pull_xid', 'pull_log_id') ORDER BY key").all();

describe('sync while the edge disk is full', () => {
  it('keeps an HQ plan it cannot store for the next cycle instead of setting it aside', async () => {
    const e = open(3);
    await e.sync.runCycle();
    // Enough rows that storing them needs pages the full disk does not have.
    const [plan] = await hqRows<{ id: number }>(
      hq,
      `INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end)
       SELECT 3, 'FULL-' || g, 'LOT-FULL', 5, '2026-12-01T06:00Z', '2026-12-01T14:00Z' FROM generate_series(1, 200) g
       RETURNING id`,
    );
    if (!plan) throw new Error('insert failed');
    // The pull cannot pass a transaction still open anywhere on the server (another suite's):
    // wait until it could see the plan, so the full disk is what stops it.
    await waitForHorizon(hq, 3);
    const cursor = pullCursor(e);
    fillDisk(e);
    await expect(e.sync.runCycle()).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    expect(rowCount(e.gw.ctx, 'sync_rejected')).toBe(0);
    expect(pullCursor(e)).toEqual(cursor);
    const planner = (await e.gw.login('planner')).token;
    expect((await body<unknown[]>(await e.gw.req('GET', '/workorders?product_code=FULL-1', { token: planner }))).data).toEqual([]);

    freeDisk(e);
    await pullUntil(e, () => rowCount(e.gw.ctx, 'work_orders') >= 200);
    const list = await body<Array<{ product_code: string }>>(await e.gw.req('GET', '/workorders?lot_no=LOT-FULL&limit=500', { token: planner }));
    expect(list.data.filter((w) => w.product_code.startsWith('FULL-'))).toHaveLength(200);
    expect(rowCount(e.gw.ctx, 'sync_rejected')).toBe(0);
    const status = await body(await e.gw.req('GET', '/sync/status', { token: (await e.gw.login('admin')).token }));
    expect(status.data).toMatchObject({ online: true, last_error: null });
  });

  it('answers 503 to floor writes, keeps pushing what was stored, and sends each change once when space is back', async () => {
    const e = open(4);
    const planner = (await e.gw.login('planner')).token;
    const admin = (await e.gw.login('admin')).token;
    const machine = await body<{ id: number }>(await e.gw.req('POST', '/machines', { token: admin, body: { name: 'full-m', machine_type: 'press' } }));
    const wo = await createWorkOrder(e.gw, planner, { product_code: 'DISK-FULL' });
    const [first, second] = wo.stages;
    if (!first || !second) throw new Error('no stages');
    expect((await act(e.gw, planner, first.id, 'start')).status).toBe(200);
    fillDisk(e);
    // Enough readings that storing them and their outbox rows needs pages the disk does not have.
    const readings = Array.from({ length: 1000 }, (_, i) => ({ reading_type: `r${i % 50}`, value: i }));
    const refused = await e.gw.req('POST', `/machines/${machine.data.id}/readings`, { token: admin, body: readings });
    expect(refused.status).toBe(503);
    expect((await body(refused)).error.code).toBe('UNAVAILABLE');
    // What was stored before still reaches HQ while the disk stays full (the cycle itself may fail
    // to record its acknowledgement; the resend is then a no-op at HQ).
    await e.sync.runCycle().catch(() => {});
    expect(await count('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = $1 AND status = $2', [wo.id, 'in_progress'])).toBe(1);

    freeDisk(e);
    expect((await act(e.gw, planner, second.id, 'start')).status).toBe(200);
    await pullUntil(
      e,
      async () => (await count('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = $1 AND status = $2', [wo.id, 'in_progress'])) === 2,
    );
    await e.sync.runCycle();
    expect(rowCount(e.gw.ctx, 'sync_outbox')).toBe(0);
    const edgeEvents = e.gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM events WHERE work_order_id = ?').get(wo.id) as { n: number };
    expect(await count('SELECT count(*) AS n FROM events WHERE site_id = 4 AND work_order_id = $1', [wo.id])).toBe(edgeEvents.n);
    expect(await count('SELECT count(*) AS n FROM machine_readings WHERE machine_id = $1', [machine.data.id])).toBe(0);
    expect(rowCount(e.gw.ctx, 'sync_rejected')).toBe(0);
  });
});
