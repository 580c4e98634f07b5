import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { createWorkOrder } from './helpers/floor.ts';

let gw: TestGateway;
let planner: { token: string; id: number };
let manager: { token: string; id: number };
let worker: { token: string; id: number };
let stageId: number;
let otherStageId: number;
let woId: number;

beforeEach(async () => {
  gw = makeGateway();
  planner = await gw.login('planner');
  manager = await gw.login('manager');
  worker = await gw.login('worker');
  const wo = await createWorkOrder(gw, planner.token);
  woId = wo.id;
  stageId = wo.stages[0]?.id ?? 0;
  otherStageId = wo.stages[1]?.id ?? 0;
  await gw.req('POST', `/stages/${stageId}/assignments`, { token: planner.token, body: { user_id: worker.id } });
});
afterEach(() => gw.close());

interface Issue {
  id: number;
  status: string;
  created_by: number;
  acknowledged_by: number | null;
  resolved_by: number | null;
  resolved_at: string | null;
  history: Array<{ status: string; by: number; note: string | null; at: string }>;
}

const report = (token: string, stage = stageId, payload: Record<string, unknown> = { type: 'machine_breakdown', description: 'spindle stalls' }) =>
  gw.req('POST', `/stages/${stage}/issue`, { token, body: payload });

describe('issue lifecycle', () => {
  it('goes open → ack → resolved with who, when and notes in the history', async () => {
    const created = await report(worker.token);
    expect(created.status).toBe(201);
    const issue = (await body<Issue>(created)).data;
    expect(issue).toMatchObject({ status: 'open', created_by: worker.id, history: [{ status: 'open', by: worker.id, note: null }] });
    gw.clock.advance(60_000);
    const ack = await gw.req('PATCH', `/stages/${stageId}/issues/${issue.id}`, { token: manager.token, body: { status: 'ack', note: 'on my way' } });
    expect((await body<Issue>(ack)).data).toMatchObject({ status: 'ack', acknowledged_by: manager.id });
    gw.clock.advance(60_000);
    const resolved = (
      await body<Issue>(
        await gw.req('PATCH', `/stages/${stageId}/issues/${issue.id}`, { token: planner.token, body: { status: 'resolved', note: 'belt replaced' } }),
      )
    ).data;
    expect(resolved).toMatchObject({ status: 'resolved', resolved_by: planner.id });
    expect(resolved.history.map((h) => [h.status, h.by, h.note])).toEqual([
      ['open', worker.id, null],
      ['ack', manager.id, 'on my way'],
      ['resolved', planner.id, 'belt replaced'],
    ]);
    expect(new Date(resolved.history[2]?.at ?? '').getTime() - new Date(resolved.history[0]?.at ?? '').getTime()).toBe(120_000);
  });

  it('allows open → resolved and refuses everything else with 409', async () => {
    const a = (await body<Issue>(await report(worker.token))).data;
    expect((await gw.req('PATCH', `/stages/${stageId}/issues/${a.id}`, { token: manager.token, body: { status: 'resolved' } })).status).toBe(200);
    const again = await gw.req('PATCH', `/stages/${stageId}/issues/${a.id}`, { token: manager.token, body: { status: 'ack' } });
    expect(again.status).toBe(409);
    expect((await body(again)).error).toMatchObject({ code: 'INVALID_TRANSITION', details: { from: 'resolved', to: 'ack' } });
    const b = (await body<Issue>(await report(worker.token))).data;
    await gw.req('PATCH', `/stages/${stageId}/issues/${b.id}`, { token: manager.token, body: { status: 'ack' } });
    expect((await gw.req('PATCH', `/stages/${stageId}/issues/${b.id}`, { token: manager.token, body: { status: 'ack' } })).status).toBe(409);
    expect((await gw.req('PATCH', `/stages/${stageId}/issues/${b.id}`, { token: manager.token, body: { status: 'open' } })).status).toBe(422);
  });

  it('404s an issue addressed through another stage, and changes nothing', async () => {
    const a = (await body<Issue>(await report(worker.token))).data;
    const events = rowCount(gw.ctx, 'events');
    const res = await gw.req('PATCH', `/stages/${otherStageId}/issues/${a.id}`, { token: manager.token, body: { status: 'ack' } });
    expect(res.status).toBe(404);
    expect(rowCount(gw.ctx, 'events')).toBe(events);
    expect((await gw.req('PATCH', `/stages/${stageId}/issues/98765`, { token: manager.token, body: { status: 'ack' } })).status).toBe(404);
  });

  it('lets a worker report only on its own stages and read only its own issues', async () => {
    expect((await report(worker.token, otherStageId)).status).toBe(403);
    const mine = (await body<Issue>(await report(worker.token))).data;
    const other = (await body<Issue>(await report(manager.token))).data;
    expect((await gw.req('GET', `/issues/${mine.id}`, { token: worker.token })).status).toBe(200);
    expect((await gw.req('GET', `/issues/${other.id}`, { token: worker.token })).status).toBe(403);
    expect((await gw.req('GET', `/issues/${other.id}`, { token: manager.token })).status).toBe(200);
    expect((await gw.req('GET', '/issues/55555', { token: manager.token })).status).toBe(404);
  });

  it('lists newest first with filters', async () => {
    const first = (await body<Issue>(await report(worker.token))).data;
    gw.clock.advance(1000);
    const second = (await body<Issue>(await report(planner.token, otherStageId, { type: 'safety', description: 'oil on floor' }))).data;
    await gw.req('PATCH', `/stages/${stageId}/issues/${first.id}`, { token: manager.token, body: { status: 'ack' } });
    const list = async (q: string) => (await body<Issue[]>(await gw.req('GET', `/issues${q}`, { token: manager.token }))).data.map((i) => i.id);
    expect(await list('')).toEqual([second.id, first.id]);
    expect(await list('?status=ack')).toEqual([first.id]);
    expect(await list('?type=safety')).toEqual([second.id]);
    expect(await list(`?work_order_stage_id=${stageId}`)).toEqual([first.id]);
    expect(await list(`?work_order_id=${woId}`)).toEqual([second.id, first.id]);
    expect(await list('?work_order_id=424242')).toEqual([]);
  });
});
