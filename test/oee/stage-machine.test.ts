import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, type TestGateway } from '../helpers/app.ts';
import { act, createWorkOrder, type Stage } from '../helpers/floor.ts';

type StageWithMachine = Stage & { machine_id: number | null };

describe('a stage names the machine it runs on (Stage.machine_id)', () => {
  let gw: TestGateway;
  let admin: { token: string; id: number };
  let worker: { token: string; id: number };
  let press: number;
  let lathe: number;

  beforeAll(async () => {
    gw = makeGateway();
    admin = await gw.login('admin');
    worker = await gw.login('worker');
    const machine = async (name: string) =>
      (await body<{ id: number }>(await gw.req('POST', '/machines', { token: admin.token, body: { name, machine_type: 'press', status: 'idle' } }))).data.id;
    press = await machine('press-1');
    lathe = await machine('lathe-1');
  });
  afterAll(() => gw.close());

  const stagesOf = async (woId: number) => (await body<StageWithMachine[]>(await gw.req('GET', `/workorders/${woId}/stages`, { token: admin.token }))).data;

  it('is set where the stages are created, and shown in every stage answer', async () => {
    const wo = (await createWorkOrder(gw, admin.token, {
      stages: [{ stage_name: 'pressing', machine_id: press }, { stage_name: 'turning', machine_id: null }, { stage_name: 'packing' }],
    })) as unknown as { id: number; stages: StageWithMachine[] };
    expect(wo.stages.map((s) => s.machine_id)).toEqual([press, null, null]);
    expect((await stagesOf(wo.id)).map((s) => s.machine_id)).toEqual([press, null, null]);
    const [first, second] = wo.stages;
    if (!first || !second) throw new Error('stages missing');
    const listed = (await body<StageWithMachine[]>(await gw.req('GET', `/stages?work_order_id=${wo.id}`, { token: admin.token }))).data;
    expect(listed.find((s) => s.id === first.id)?.machine_id).toBe(press);
    // The older route sees the same link, and changing it there changes the stage.
    expect((await body(await gw.req('GET', `/stages/${first.id}/machine`, { token: admin.token }))).data).toEqual({ stage_id: first.id, machine_id: press });
    expect((await gw.req('PUT', `/stages/${second.id}/machine`, { token: admin.token, body: { machine_id: lathe } })).status).toBe(200);
    expect((await stagesOf(wo.id)).map((s) => s.machine_id)).toEqual([press, lathe, null]);
    // A stage action answers with the stage, its machine included; a worker's view of the stage too.
    await gw.req('POST', `/stages/${first.id}/assignments`, { token: admin.token, body: { user_id: worker.id } });
    const started = await act(gw, worker.token, first.id, 'start');
    expect(started.status).toBe(200);
    expect((started.env.data as StageWithMachine).machine_id).toBe(press);
    const mine = (await body<StageWithMachine[]>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: worker.token }))).data;
    expect(mine).toEqual([expect.objectContaining({ id: first.id, machine_id: press })]);
    expect((await gw.req('PUT', `/stages/${first.id}/machine`, { token: admin.token, body: { machine_id: null } })).status).toBe(200);
    expect((await stagesOf(wo.id)).map((s) => s.machine_id)).toEqual([null, lathe, null]);
  });

  it('an unknown machine refuses the whole work order with a 422 naming the stage', async () => {
    const before = rowCount(gw.ctx, 'work_orders');
    const res = await gw.req('POST', '/workorders', {
      token: admin.token,
      body: {
        product_code: 'P-1',
        lot_no: 'LOT-X',
        qty: 5,
        planned_start: '2026-11-26T08:00:00Z',
        planned_end: '2026-11-26T16:00:00Z',
        stages: [
          { stage_name: 'pressing', machine_id: press },
          { stage_name: 'turning', machine_id: 424242 },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect((await body(res)).error.details).toEqual([{ path: 'stages.1.machine_id', message: 'no such machine' }]);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(before);
    const bad = await gw.req('POST', '/workorders', {
      token: admin.token,
      body: {
        product_code: 'P-1',
        lot_no: 'LOT-Y',
        qty: 5,
        planned_start: '2026-11-26T08:00:00Z',
        planned_end: '2026-11-26T16:00:00Z',
        stages: [{ stage_name: 'x', machine_id: 'press-1' }],
      },
    });
    expect(bad.status).toBe(422);
  });
});
