import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

// A work order's status is derived from its stages on the edge and merged by rank at HQ
// (planned < in_progress < done). Both ends must end with the same value whatever HQ does to it.

let hq: Hq;
let edge: Edge;
let planner: string;

beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(5, await hq.addSite(5));
  planner = (await edge.gw.login('planner')).token;
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await edge?.close();
  await hq?.close();
});

async function edgeStatus(id: number): Promise<string | undefined> {
  const res = await edge.gw.req('GET', `/workorders/${id}`, { token: planner });
  return (await body<{ status: string }>(res)).data.status;
}

async function hqStatus(id: number): Promise<string | undefined> {
  return (await hqRows<{ status: string }>(hq, 'SELECT status FROM work_orders WHERE id = $1', [id]))[0]?.status;
}

describe('derived work-order status across HQ and the edge', () => {
  it('stays done on both sides when HQ closes a work order and the floor then pauses a running stage', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'DERIVED-1' });
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    expect((await act(edge.gw, planner, stage.id, 'start')).status).toBe(200);
    await edge.sync.runCycle();
    expect(await hqStatus(wo.id)).toBe('in_progress');

    await hqRows(hq, "UPDATE work_orders SET status = 'done' WHERE id = $1", [wo.id]);
    await pullUntil(edge, async () => (await edgeStatus(wo.id)) === 'done');
    expect(await edgeStatus(wo.id)).toBe('done');

    // The floor goes on with the stage: its actions apply, the work order is not reopened.
    expect((await act(edge.gw, planner, stage.id, 'pause', { reason: 'material' })).status).toBe(200);
    expect((await act(edge.gw, planner, stage.id, 'resume')).status).toBe(200);
    await edge.sync.runCycle();
    await edge.sync.runCycle();
    expect(await edgeStatus(wo.id)).toBe('done');
    expect(await hqStatus(wo.id)).toBe('done');
    const [hqStage] = await hqRows<{ status: string }>(hq, 'SELECT status FROM work_order_stages WHERE id = $1', [stage.id]);
    expect(hqStage?.status).toBe('in_progress');
  });

  it('keeps a done work order done on both sides when HQ adds a stage and the floor starts it', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'DERIVED-2' });
    for (const s of wo.stages) {
      expect((await act(edge.gw, planner, s.id, 'start')).status).toBe(200);
      expect((await act(edge.gw, planner, s.id, 'done', { qty_good: 1, qty_scrap: 0 })).status).toBe(200);
    }
    expect(await edgeStatus(wo.id)).toBe('done');
    await edge.sync.runCycle();
    const [added] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (5, $1, 99, 'rework') RETURNING id",
      [wo.id],
    );
    if (!added) throw new Error('insert failed');
    await pullUntil(edge, async () => {
      const res = await edge.gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner });
      return (await body<Array<{ id: number }>>(res)).data.some((s) => s.id === Number(added.id));
    });
    expect((await act(edge.gw, planner, Number(added.id), 'start')).status).toBe(200);
    await edge.sync.runCycle();
    await edge.sync.runCycle();
    expect(await edgeStatus(wo.id)).toBe(await hqStatus(wo.id));
    expect(await edgeStatus(wo.id)).toBe('done');
  });
});
