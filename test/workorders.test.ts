import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, T0, type TestGateway, iso } from './helpers/app.ts';
import { act, createWorkOrder } from './helpers/floor.ts';

let gw: TestGateway;
let planner: string;
beforeEach(async () => {
  gw = makeGateway();
  planner = (await gw.login('planner')).token;
});
afterEach(() => gw.close());

const H = 3600_000;

describe('work orders', () => {
  it('creates the configured default stages with the window split evenly', async () => {
    const wo = await createWorkOrder(gw, planner);
    expect(wo).toMatchObject({ product_code: 'P-1', lot_no: 'LOT-1', qty: 10, status: 'planned', planned_start: '2026-11-26T08:00:00.000Z' });
    expect(wo.stages.map((s) => [s.seq, (s as unknown as { stage_name: string }).stage_name])).toEqual([
      [1, 'cutting'],
      [2, 'assembly'],
      [3, 'inspection'],
      [4, 'packing'],
    ]);
    const windows = wo.stages.map((s) => [(s as unknown as { planned_start: string }).planned_start, (s as unknown as { planned_end: string }).planned_end]);
    expect(windows[0]).toEqual(['2026-11-26T08:00:00.000Z', '2026-11-26T10:00:00.000Z']);
    expect(windows[3]).toEqual(['2026-11-26T14:00:00.000Z', '2026-11-26T16:00:00.000Z']);
  });

  it('creates explicit stages in the given order', async () => {
    const wo = await createWorkOrder(gw, planner, {
      stages: [{ stage_name: 'weld', planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, { stage_name: 'paint' }],
    });
    expect(wo.stages.map((s) => (s as unknown as { stage_name: string }).stage_name)).toEqual(['weld', 'paint']);
    expect(rowCount(gw.ctx, 'work_order_stages')).toBe(2);
  });

  it('lists with filters in planned order with a stable cursor', async () => {
    for (let i = 0; i < 5; i++) {
      await createWorkOrder(gw, planner, { product_code: i % 2 ? 'ODD' : 'EVEN', planned_start: iso(T0 + (5 - i) * H), planned_end: iso(T0 + (6 - i) * H) });
    }
    const all = await body<Array<{ planned_start: string; product_code: string }>>(await gw.req('GET', '/workorders', { token: planner }));
    expect(all.data.map((w) => w.planned_start)).toEqual([...all.data.map((w) => w.planned_start)].sort());
    const odd = await body<Array<{ product_code: string }>>(await gw.req('GET', '/workorders?product_code=ODD', { token: planner }));
    expect(odd.data).toHaveLength(2);
    const window = await body<unknown[]>(
      await gw.req('GET', `/workorders?planned_from=${encodeURIComponent(iso(T0 + 2 * H))}&planned_to=${encodeURIComponent(iso(T0 + 4 * H))}`, {
        token: planner,
      }),
    );
    expect(window.data).toHaveLength(3);
    const p1 = await body<Array<{ id: number }>>(await gw.req('GET', '/workorders?limit=2', { token: planner }));
    const p2 = await body<Array<{ id: number }>>(await gw.req('GET', `/workorders?limit=2&cursor=${p1.meta.next_cursor}`, { token: planner }));
    const p3 = await body<Array<{ id: number }>>(await gw.req('GET', `/workorders?limit=2&cursor=${p2.meta.next_cursor}`, { token: planner }));
    expect([...p1.data, ...p2.data, ...p3.data].map((w) => w.id)).toEqual(all.data.map((w) => (w as unknown as { id: number }).id));
    expect(p3.meta.next_cursor).toBeNull();
    const byStatus = await body<unknown[]>(await gw.req('GET', '/workorders?status=done', { token: planner }));
    expect(byStatus.data).toEqual([]);
  });

  it('404s unknown work orders', async () => {
    expect((await gw.req('GET', '/workorders/777777', { token: planner })).status).toBe(404);
    expect((await gw.req('GET', '/workorders/777777/stages', { token: planner })).status).toBe(404);
    expect((await gw.req('GET', '/workorders/777777/metrics', { token: planner })).status).toBe(404);
  });
});

describe('metrics', () => {
  it('computes stage metrics for an early, a late, a paused and an unfinished stage', async () => {
    // Four stages of 2 h each from 08:00 (T0).
    const wo = await createWorkOrder(gw, planner);
    const [a, b, c, d] = wo.stages.map((s) => s.id) as [number, number, number, number];
    gw.clock.set(T0 + 10 * H);
    // a: 10 min early start, 90 min run → early finish.
    await act(gw, planner, a, 'start', { at: iso(T0 - 10 * 60_000) });
    await act(gw, planner, a, 'done', { at: iso(T0 + 80 * 60_000), qty_good: 10 });
    // b: starts 30 min late, runs 3 h → late.
    await act(gw, planner, b, 'start', { at: iso(T0 + 2.5 * H) });
    await act(gw, planner, b, 'done', { at: iso(T0 + 5.5 * H) });
    // c: planned 12:00–14:00, starts 13:30, paused 20 min, done 14:30 → late.
    await act(gw, planner, c, 'start', { at: iso(T0 + 5.5 * H) });
    await act(gw, planner, c, 'pause', { reason: 'material', at: iso(T0 + 6 * H) });
    await act(gw, planner, c, 'resume', { at: iso(T0 + 6 * H + 20 * 60_000) });
    await act(gw, planner, c, 'done', { at: iso(T0 + 6 * H + 30 * 60_000), qty_good: 8, qty_scrap: 2 });
    // d: started, paused and still paused now (T0 + 10 h).
    await act(gw, planner, d, 'start', { at: iso(T0 + 7 * H) });
    await act(gw, planner, d, 'pause', { reason: 'breakdown', at: iso(T0 + 9 * H) });

    const m = async (id: number) => (await body<Record<string, unknown>>(await gw.req('GET', `/stages/${id}/metrics`, { token: planner }))).data;
    expect(await m(a)).toMatchObject({
      planned_duration_s: 7200,
      actual_duration_s: 5400,
      paused_s: 0,
      start_delay_s: -600,
      end_delay_s: -2400,
      efficiency: 1.3333,
      on_time: true,
    });
    expect(await m(b)).toMatchObject({
      planned_duration_s: 7200,
      actual_duration_s: 10800,
      start_delay_s: 1800,
      end_delay_s: 5400,
      efficiency: 0.6667,
      on_time: false,
    });
    expect(await m(c)).toMatchObject({ actual_duration_s: 3600, paused_s: 1200, start_delay_s: 5400, end_delay_s: 1800, efficiency: 2, on_time: false });
    expect(await m(d)).toMatchObject({ actual_duration_s: null, paused_s: 3600, start_delay_s: 3600, end_delay_s: null, efficiency: null, on_time: null });

    const wom = (await body<Record<string, unknown>>(await gw.req('GET', `/workorders/${wo.id}/metrics`, { token: planner }))).data;
    expect(wom).toMatchObject({
      stages_total: 4,
      stages_done: 3,
      stages_in_progress: 0,
      stages_paused: 1,
      progress_pct: 75,
      on_time_pct: 33.33,
      efficiency: round4((7200 * 3) / (5400 + 10800 + 3600)),
      end_delay_s: null,
      open_issues: 0,
      qty_good: null,
      qty_scrap: null,
      yield_pct: null,
    });
  });

  it('gives end delay and yield once every stage is done', async () => {
    const wo = await createWorkOrder(gw, planner, { stages: [{ stage_name: 'only' }] });
    const id = wo.stages[0]?.id ?? 0;
    gw.clock.set(T0 + 9 * H);
    await act(gw, planner, id, 'start', { at: iso(T0) });
    await act(gw, planner, id, 'done', { at: iso(T0 + 8.5 * H), qty_good: 47, qty_scrap: 3 });
    await gw.req('POST', `/stages/${id}/issue`, { token: planner, body: { type: 'quality', description: 'burrs' } });
    const wom = (await body<Record<string, unknown>>(await gw.req('GET', `/workorders/${wo.id}/metrics`, { token: planner }))).data;
    expect(wom).toMatchObject({
      stages_done: 1,
      progress_pct: 100,
      end_delay_s: 1800,
      qty_good: 47,
      qty_scrap: 3,
      yield_pct: 94,
      open_issues: 1,
      efficiency: null,
      on_time_pct: 0,
    });
    const stage = (await body<Record<string, unknown>>(await gw.req('GET', `/stages/${id}/metrics`, { token: planner }))).data;
    expect(stage).toMatchObject({ planned_duration_s: null, actual_duration_s: 30600, efficiency: null });
  });

  it('is all null or zero for a fresh work order', async () => {
    const wo = await createWorkOrder(gw, planner);
    const wom = (await body<Record<string, unknown>>(await gw.req('GET', `/workorders/${wo.id}/metrics`, { token: planner }))).data;
    expect(wom).toMatchObject({ stages_total: 4, stages_done: 0, progress_pct: 0, on_time_pct: null, efficiency: null, yield_pct: null });
  });
});

function round4(n: number) {
  return Math.round(n * 10_000) / 10_000;
}
