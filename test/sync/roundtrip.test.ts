import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopEvent } from '../../src/events/bus.ts';
import { body } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

let hq: Hq;
let edge: Edge;
let planner: string;
let worker: { token: string; id: number };

beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(3, await hq.addSite(3));
  planner = (await edge.gw.login('planner')).token;
  worker = await edge.gw.login('worker');
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await edge?.close();
  await hq?.close();
});

const count = async (sql: string, params: unknown[] = []) => Number((await hqRows<{ n: number }>(hq, sql, params))[0]?.n);

describe('sync round trips', () => {
  it('pushes work orders, stages, users and event rows to HQ with the site id', async () => {
    const wo = await createWorkOrder(edge.gw, planner);
    const first = wo.stages[0];
    if (!first) throw new Error('no stage');
    expect((await act(edge.gw, planner, first.id, 'start')).status).toBe(200);
    const r = await edge.sync.runCycle();
    expect(r.pushed).toBeGreaterThan(0);
    const rows = await hqRows<{ site_id: number; qty: number; planned_start: Date }>(hq, 'SELECT site_id, qty, planned_start FROM work_orders WHERE id = $1', [
      wo.id,
    ]);
    expect(rows).toEqual([{ site_id: 3, qty: 10, planned_start: new Date('2026-11-26T08:00:00Z') }]);
    expect(await count('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = $1 AND site_id = 3', [wo.id])).toBe(4);
    expect((await hqRows(hq, 'SELECT status FROM work_order_stages WHERE id = $1', [first.id]))[0]).toEqual({ status: 'in_progress' });
    expect(await count("SELECT count(*) AS n FROM events WHERE site_id = 3 AND entity_id = $1 AND kind LIKE 'stage%'", [first.id])).toBeGreaterThan(0);
    expect(await count('SELECT count(*) AS n FROM users WHERE site_id = 3 AND id = $1', [worker.id])).toBe(1);
    const status = await body<{ backlog: number; online: boolean; enabled: boolean }>(
      await edge.gw.req('GET', '/sync/status', { token: (await edge.gw.login('admin')).token }),
    );
    expect(status.data).toMatchObject({ enabled: true, online: true });
    // The admin just created is captured and waits for the next cycle.
    await edge.sync.runCycle();
  });

  it("shows a work order HQ inserted with plain SQL (no id) in the site's GET /workorders after one cycle", async () => {
    const [row] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (3, 'HQ-PLAN', 'LOT-HQ', 25, '2026-12-01T06:00Z', '2026-12-01T14:00Z') RETURNING id",
    );
    if (!row) throw new Error('insert failed');
    expect(row.id).toBeLessThan(2 ** 40);
    await hqRows(
      hq,
      "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name, planned_start, planned_end) VALUES (3, $1, 1, 'laser', '2026-12-01T06:00Z', '2026-12-01T10:00Z')",
      [row.id],
    );
    await hqRows(hq, "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (4, 'OTHER-SITE', 'L', 1, now(), now())");
    await pullUntil(edge, async () => {
      const res = await edge.gw.req('GET', `/workorders/${row.id}/stages`, { token: planner });
      return res.status === 200 && (await body<unknown[]>(res)).data.length > 0;
    });
    const list = await body<Array<{ id: number; product_code: string; qty: number }>>(
      await edge.gw.req('GET', '/workorders?product_code=HQ-PLAN', { token: planner }),
    );
    expect(list.data).toMatchObject([{ id: row.id, product_code: 'HQ-PLAN', qty: 25 }]);
    const other = await body<unknown[]>(await edge.gw.req('GET', '/workorders?product_code=OTHER-SITE', { token: planner }));
    expect(other.data).toEqual([]);
    const stages = await body<Array<{ stage_name: string }>>(await edge.gw.req('GET', `/workorders/${row.id}/stages`, { token: planner }));
    expect(stages.data.map((s) => s.stage_name)).toEqual(['laser']);
    // The pull wrote an event row, which goes back to HQ as a fact; the pulled row itself does not echo.
    await edge.sync.runCycle();
    expect(await count("SELECT count(*) AS n FROM events WHERE kind = 'work_order.synced' AND entity_id = $1", [row.id])).toBe(1);
    expect(await count('SELECT count(*) AS n FROM sync_change_log WHERE tbl = $1 AND pk = $2', ['work_orders', String(row.id)])).toBe(1);
  });

  it('keeps both when HQ moves planned_end while the floor finishes the stage', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'MERGE' });
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    await edge.sync.runCycle();
    await hqRows(hq, "UPDATE work_order_stages SET planned_end = '2026-11-27T12:00Z' WHERE id = $1", [stage.id]);
    await act(edge.gw, planner, stage.id, 'start');
    await act(edge.gw, planner, stage.id, 'done', { qty_good: 9, qty_scrap: 1 });
    await pullUntil(edge, async () => {
      const res = await edge.gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner });
      const rows = (await body<Array<{ id: number; planned_end: string }>>(res)).data;
      return rows.find((s) => s.id === stage.id)?.planned_end === '2026-11-27T12:00:00.000Z';
    });
    const [hqStage] = await hqRows<{ status: string; planned_end: Date; qty_good: number }>(
      hq,
      'SELECT status, planned_end, qty_good FROM work_order_stages WHERE id = $1',
      [stage.id],
    );
    expect(hqStage).toEqual({ status: 'done', planned_end: new Date('2026-11-27T12:00Z'), qty_good: 9 });
    const local = await body<Array<{ id: number; status: string; planned_end: string; qty_good: number }>>(
      await edge.gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner }),
    );
    expect(local.data.find((s) => s.id === stage.id)).toMatchObject({ status: 'done', planned_end: '2026-11-27T12:00:00.000Z', qty_good: 9 });
  });

  it('never moves a stage status backwards, at HQ or on the edge', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'FWD' });
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    await act(edge.gw, planner, stage.id, 'start');
    await act(edge.gw, planner, stage.id, 'done', { qty_good: 1, qty_scrap: 0 });
    await edge.sync.runCycle();
    await expect(hqRows(hq, "UPDATE work_order_stages SET status = 'in_progress' WHERE id = $1", [stage.id])).rejects.toThrow(/cannot move back/);
  });

  it('publishes a pulled work-order change on the event bus once it is committed, shaped like a local event', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'BUS' });
    await edge.sync.runCycle();
    const seen: Array<{ event: ShopEvent; committed: boolean; qty: number | undefined }> = [];
    const sqlite = edge.gw.ctx.store.sqlite;
    const unsubscribe = edge.gw.ctx.bus.subscribe((event) => {
      // A subscriber reads the database (as the console's SSE does): the change must be there.
      const row = sqlite.prepare('SELECT id FROM events WHERE id = ?').get(event.id);
      const qty = (sqlite.prepare('SELECT qty FROM work_orders WHERE id = ?').get(wo.id) as { qty: number } | undefined)?.qty;
      seen.push({ event, committed: row !== undefined && !sqlite.inTransaction, qty });
    });
    try {
      await hqRows(hq, 'UPDATE work_orders SET qty = 40 WHERE id = $1', [wo.id]);
      await pullUntil(edge, () => seen.some((s) => s.event.entityId === wo.id));
    } finally {
      unsubscribe();
    }
    const mine = seen.filter((s) => s.event.entityId === wo.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      committed: true,
      qty: 40,
      event: {
        kind: 'work_order.synced',
        entityType: 'work_order',
        entityId: wo.id,
        workOrderId: wo.id,
        toStatus: null,
        data: { source: 'hq', columns: ['qty'] },
      },
    });
    expect(typeof mine[0]?.event.id).toBe('number');
    expect(mine[0]?.event.recordedAt).toBeGreaterThan(0);
  });

  it('applies a role change made at HQ on the next request', async () => {
    const manager = await edge.gw.login('manager');
    await edge.sync.runCycle();
    expect((await edge.gw.req('GET', '/drivers/status', { token: manager.token })).status).toBe(200);
    await hqRows(hq, "UPDATE users SET role = 'worker' WHERE id = $1", [manager.id]);
    await pullUntil(edge, async () => (await edge.gw.req('GET', '/drivers/status', { token: manager.token })).status === 403);
    expect((await edge.gw.req('GET', '/drivers/status', { token: manager.token })).status).toBe(403);
    await hqRows(hq, 'UPDATE users SET active = false WHERE id = $1', [manager.id]);
    await pullUntil(edge, async () => (await edge.gw.req('GET', '/auth/me', { token: manager.token })).status === 401);
    expect((await edge.gw.req('GET', '/auth/me', { token: manager.token })).status).toBe(401);
  });
});
