import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileAllDowntimes } from '../../src/modules/oee/downtime-records.ts';
import { startRunRecorder } from '../../src/modules/oee/runs.ts';
import { body, makeGateway, rowCount, type TestGateway } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';

const MIN = 60_000;
const Z = (hhmm: string) => Date.parse(`2026-11-26T${hhmm}:00Z`);

// Thursday 2026-11-26 in Berlin (UTC+1): the early shift is 05:00–13:00Z, its break 08:00–08:30Z: 450 min planned.
const SETTINGS = `
oee:
  shifts:
    - { name: early, days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00", breaks: [{ start: "09:00", end: "09:30" }] }
  downtime: { threshold_s: 120, open_issue_after_s: 300 }
  ideal_cycle_s: { products: { P-100: 25 } }
`;

interface Figures {
  planned_ms: number;
  run_ms: number;
  state_ms: Record<string, number>;
  good: number;
  scrap: number;
  availability: number;
  performance: number;
  quality: number;
  oee: number;
  losses: Record<string, unknown>;
  inputs: { states: Array<{ state: string; from: string; to: string }>; downtimes: Array<{ id: number }>; counts: Array<{ good: number }> };
}

describe('OEE and downtime over the API, from a scripted shift', () => {
  let gw: TestGateway;
  let admin: { token: string; id: number };
  let worker: { token: string; id: number };
  let other: { token: string; id: number };
  let machineId: number;
  let woId: number;
  let stageId: number;

  const at = (hhmm: string) => gw.clock.set(Z(hhmm));
  const setStatus = async (hhmm: string, status: string) => {
    at(hhmm);
    expect((await gw.req('PATCH', `/machines/${machineId}`, { token: admin.token, body: { status } })).status).toBe(200);
  };

  beforeAll(async () => {
    gw = makeGateway({ PLANT_TZ: 'Europe/Berlin' }, undefined, SETTINGS);
    at('04:00');
    const first = startRunRecorder(gw.ctx);
    admin = await gw.login('admin');
    worker = await gw.login('worker');
    other = await gw.login('worker');
    const m = await gw.req('POST', '/machines', { token: admin.token, body: { name: 'press-1', machine_type: 'press', status: 'running' } });
    machineId = (await body<{ id: number }>(m)).data.id;
    const wo = await createWorkOrder(gw, admin.token, { product_code: 'P-100', stages: [{ stage_name: 'pressing' }] });
    woId = wo.id;
    stageId = wo.stages[0]?.id ?? 0;
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin.token, body: { machine_id: machineId } })).status).toBe(200);
    expect((await gw.req('POST', `/stages/${stageId}/assignments`, { token: admin.token, body: { user_id: worker.id } })).status).toBe(201);
    at('05:00');
    expect((await act(gw, worker.token, stageId, 'start')).status).toBe(200);
    await setStatus('06:00', 'down');
    at('06:05');
    reconcileAllDowntimes(gw.ctx); // 5 minutes stopped: an open record, and the 5-minute issue
    await setStatus('06:10', 'running');
    await setStatus('07:00', 'idle'); // a one-minute short stop
    await setStatus('07:01', 'running');
    at('09:00');
    first.stop(); // the gateway stops for 20 minutes
    at('09:20');
    const second = startRunRecorder(gw.ctx);
    at('12:00');
    expect((await act(gw, worker.token, stageId, 'done', { qty_good: 700, qty_scrap: 20 })).status).toBe(200);
    at('13:30');
    reconcileAllDowntimes(gw.ctx);
    second.stop();
  });
  afterAll(() => gw?.close());

  it('one downtime record for the 10-minute stop, none for the 1-minute one; it opened an issue on the running stage', async () => {
    const res = await gw.req('GET', `/downtimes?machine_id=${machineId}`, { token: worker.token });
    const list = (await body<Array<Record<string, unknown>>>(res)).data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      started_at: '2026-11-26T06:00:00.000Z',
      ended_at: '2026-11-26T06:10:00.000Z',
      duration_ms: 10 * MIN,
      state: 'down',
      reason_code: null,
    });
    const issues = (await body<Array<Record<string, unknown>>>(await gw.req('GET', '/issues', { token: admin.token }))).data;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ work_order_stage_id: stageId, type: 'machine_breakdown', created_by: worker.id, id: list[0]?.issue_id });
  });

  it('a reason: a group or unknown code is refused, a worker not on the machine is refused, the assigned worker sets it', async () => {
    const id = (await body<Array<{ id: number }>>(await gw.req('GET', '/downtimes', { token: admin.token }))).data[0]?.id;
    const group = await gw.req('PATCH', `/downtimes/${id}`, { token: worker.token, body: { reason_code: 'mechanical' } });
    expect(group.status).toBe(422);
    expect((await gw.req('PATCH', `/downtimes/${id}`, { token: worker.token, body: { reason_code: 'nope', extra: 1 } })).status).toBe(422);
    expect((await gw.req('PATCH', `/downtimes/${id}`, { token: other.token, body: { reason_code: 'jam' } })).status).toBe(403);
    const ok = await gw.req('PATCH', `/downtimes/${id}`, { token: worker.token, body: { reason_code: 'jam', note: 'sheet stuck in die' } });
    expect(ok.status).toBe(200);
    expect((await body(ok)).data).toMatchObject({ reason_code: 'jam', reason_label: 'Mechanical / Jam', reason_by: worker.id, note: 'sheet stuck in die' });
  });

  it('machine OEE over the shift matches the figures by hand', async () => {
    const res = await gw.req('GET', `/machines/${machineId}/oee?from=2026-11-26T06:00:00&to=2026-11-26T14:00:00`, { token: worker.token });
    expect(res.status).toBe(200);
    const f = (await body<Figures>(res)).data;
    // Planned 480 − 30 = 450 min. Not running: down 10, idle 1, gateway away 20 → run 419 min.
    expect(f.planned_ms).toBe(450 * MIN);
    expect(f.run_ms).toBe(419 * MIN);
    expect(f.state_ms).toMatchObject({ running: 419 * MIN, down: 10 * MIN, idle: 1 * MIN, unknown: 20 * MIN });
    expect(f.availability).toBeCloseTo(419 / 450, 12);
    // 720 pieces × 25 s = 300 min ideal.
    expect(f.performance).toBeCloseTo(300 / 419, 12);
    expect(f.quality).toBeCloseTo(700 / 720, 12);
    // OEE = good × ideal / planned = 700 × 25 s / 27,000 s.
    expect(f.oee).toBeCloseTo(17_500 / 27_000, 12);
    expect(f.losses).toMatchObject({
      breakdown_ms: 10 * MIN,
      setup_ms: 0,
      unassigned_ms: 0,
      short_stop_ms: 1 * MIN,
      unknown_ms: 20 * MIN,
      scrap_loss_ms: 20 * 25_000,
    });
    expect(f.inputs.states.map((s) => s.state)).toEqual(['running', 'down', 'running', 'idle', 'running', 'unknown', 'running']);
  });

  it('the same figures per shift (GET /oee?shift=) and per day; the work order over its stage', async () => {
    const shift = await gw.req('GET', '/oee?shift=2026-11-26/early', { token: worker.token });
    const s = (await body<{ shift: string; planned_ms: number; machines: Figures[] }>(shift)).data;
    expect(s.shift).toBe('2026-11-26/early');
    expect(s.machines[0]?.oee).toBeCloseTo(17_500 / 27_000, 12);
    const byDay = await gw.req('GET', `/machines/${machineId}/oee?from=2026-11-26T00:00:00&to=2026-11-27T00:00:00&by=day`, { token: worker.token });
    const d = (await body<Figures & { periods: Array<Figures & { label: string }> }>(byDay)).data;
    expect(d.periods.map((p) => p.label)).toEqual(['2026-11-26']);
    expect(d.periods[0]?.oee).toBeCloseTo(17_500 / 27_000, 12);
    // The stage ran 05:00–12:00Z: planned 420 − 30 = 390 min; run 390 − 10 − 1 − 20 = 359 min.
    const wo = (await body<{ stages: Figures[] }>(await gw.req('GET', `/workorders/${woId}/oee`, { token: worker.token }))).data;
    expect(wo.stages[0]?.run_ms).toBe(359 * MIN);
    expect(wo.stages[0]?.availability).toBeCloseTo(359 / 390, 12);
    expect(wo.stages[0]?.performance).toBeCloseTo(300 / 359, 12);
  });

  it('bad ranges and unknown shifts get clear 4xx answers', async () => {
    const q = (path: string) => gw.req('GET', path, { token: admin.token });
    const reversed = await q(`/machines/${machineId}/oee?from=2026-11-26T14:00:00Z&to=2026-11-26T06:00:00Z`);
    expect(reversed.status).toBe(422);
    expect((await body(reversed)).error.details).toEqual([{ path: 'to', message: 'must be after from' }]);
    expect((await q(`/machines/${machineId}/oee?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z`)).status).toBe(422);
    expect((await q(`/machines/${machineId}/oee?from=yesterday&to=2026-12-01T00:00:00Z`)).status).toBe(422);
    expect((await q(`/machines/${machineId}/oee?from=2026-11-26T06:00:00Z`)).status).toBe(422);
    expect((await q('/machines/999999/oee?from=2026-11-26T06:00:00Z&to=2026-11-26T07:00:00Z')).status).toBe(404);
    expect((await q('/oee?shift=2026-11-28/early')).status).toBe(404); // a Saturday
    expect((await q('/oee?shift=2026-11-26/late')).status).toBe(404);
    expect((await q('/oee?shift=early')).status).toBe(422);
    expect((await q('/workorders/999999/oee')).status).toBe(404);
  });

  it('a range at the end of the calendar (9999-12-31) is refused at once, not computed forever', async () => {
    const started = Date.now();
    for (const by of ['', '&by=shift', '&by=day']) {
      const res = await gw.req('GET', `/machines/${machineId}/oee?from=9999-12-31T00:00:00Z&to=9999-12-31T01:00:00Z${by}`, { token: worker.token });
      expect(res.status).toBe(422);
      expect((await body(res)).error.details).toEqual([
        { path: 'from', message: 'must be before 9999-01-01T00:00:00Z' },
        { path: 'to', message: 'must be before 9999-01-01T00:00:00Z' },
      ]);
    }
    expect(Date.now() - started).toBeLessThan(2000);
    // The gateway still answers afterwards.
    expect((await gw.req('GET', `/machines/${machineId}/oee?from=2026-11-26T06:00:00Z&to=2026-11-26T07:00:00Z`, { token: worker.token })).status).toBe(200);
  });

  it('a machine token reads no OEE and sets no reasons; a worker cannot name a stage machine', async () => {
    const machineUser = await gw.login('machine');
    expect((await gw.req('GET', '/oee?shift=current', { token: machineUser.token })).status).toBe(403);
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: worker.token, body: { machine_id: null } })).status).toBe(403);
    const before = rowCount(gw.ctx, 'stage_machines');
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin.token, body: { machine_id: 424242 } })).status).toBe(422);
    expect(rowCount(gw.ctx, 'stage_machines')).toBe(before);
  });
});
