import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../src/modules/stages/service.ts';
import { body, makeGateway, rowCount, T0, type TestGateway, iso } from './helpers/app.ts';
import { act, createWorkOrder } from './helpers/floor.ts';

let gw: TestGateway;
let planner: { token: string; id: number };
beforeEach(async () => {
  gw = makeGateway();
  planner = await gw.login('planner');
});
afterEach(() => gw.close());

/** Puts a fresh stage into `status` by the allowed path. */
async function stageIn(status: string): Promise<number> {
  const wo = await createWorkOrder(gw, planner.token);
  const id = wo.stages[0]?.id ?? 0;
  const path: Record<string, string[]> = { planned: [], in_progress: ['start'], paused: ['start', 'pause'], done: ['start', 'done'] };
  for (const a of path[status] ?? []) {
    gw.clock.advance(1000);
    expect((await act(gw, planner.token, id, a, a === 'pause' ? { reason: 'lunch' } : {})).status).toBe(200);
  }
  return id;
}

describe('stage state machine', () => {
  const statuses = ['planned', 'in_progress', 'paused', 'done'];
  const actions = Object.keys(TRANSITIONS) as Array<keyof typeof TRANSITIONS>;
  for (const from of statuses) {
    for (const action of actions) {
      const allowed = TRANSITIONS[action].from === from;
      it(`${action} from ${from} is ${allowed ? 'allowed' : '409'}`, async () => {
        const id = await stageIn(from);
        gw.clock.advance(1000);
        const eventsBefore = rowCount(gw.ctx, 'events');
        const res = await act(gw, planner.token, id, action, action === 'pause' ? { reason: 'tool change' } : {});
        if (allowed) {
          expect(res.status).toBe(200);
          expect(res.env.data.status).toBe(TRANSITIONS[action].to);
          expect(rowCount(gw.ctx, 'events')).toBeGreaterThan(eventsBefore);
        } else {
          expect(res.status).toBe(409);
          expect(res.env.error).toMatchObject({ code: 'INVALID_TRANSITION', details: { from, to: TRANSITIONS[action].to } });
          expect(rowCount(gw.ctx, 'events')).toBe(eventsBefore);
        }
      });
    }
  }

  it('derives the work-order status from its stages', async () => {
    const wo = await createWorkOrder(gw, planner.token, { stages: [{ stage_name: 'a' }, { stage_name: 'b' }] });
    const status = async () => (await body<{ status: string }>(await gw.req('GET', `/workorders/${wo.id}`, { token: planner.token }))).data.status;
    expect(await status()).toBe('planned');
    for (const s of wo.stages) {
      await act(gw, planner.token, s.id, 'start');
      expect(await status()).toBe('in_progress');
      gw.clock.advance(60_000);
      await act(gw, planner.token, s.id, 'done', { qty_good: 9, qty_scrap: 1 });
    }
    expect(await status()).toBe('done');
    const kinds = (
      gw.ctx.store.sqlite.prepare("SELECT kind, from_status, to_status FROM events WHERE entity_type = 'work_order' ORDER BY id").all() as Array<{
        kind: string;
        to_status: string;
      }>
    ).map((e) => `${e.kind}:${e.to_status}`);
    expect(kinds).toEqual(['work_order.created:planned', 'work_order.status_changed:in_progress', 'work_order.status_changed:done']);
  });

  it('records a complete, immutable event for each change', async () => {
    const id = await stageIn('planned');
    await gw.req('POST', `/stages/${id}/start`, { token: planner.token, body: { at: iso(T0 - 60_000) }, headers: { 'x-request-id': 'term-1' } });
    const e = gw.ctx.store.sqlite.prepare("SELECT * FROM events WHERE kind = 'stage.started'").get() as Record<string, unknown>;
    expect(e).toMatchObject({
      entity_type: 'stage',
      entity_id: id,
      from_status: 'planned',
      to_status: 'in_progress',
      occurred_at: T0 - 60_000,
      recorded_at: T0,
      actor_user_id: planner.id,
      request_id: 'term-1',
    });
    expect(JSON.parse(String(e.data))).toEqual({ stage_name: 'cutting', seq: 1 });
    expect(() => gw.ctx.store.sqlite.prepare('UPDATE events SET kind = ?').run('x')).toThrow(/immutable/);
    expect(() => gw.ctx.store.sqlite.prepare('DELETE FROM events').run()).toThrow(/immutable/);
  });
});

describe('at', () => {
  it('takes a past time, refuses more than 5 minutes ahead and a done before the start', async () => {
    const id = await stageIn('planned');
    expect((await act(gw, planner.token, id, 'start', { at: iso(T0 + 6 * 60_000) })).status).toBe(422);
    const started = await act(gw, planner.token, id, 'start', { at: iso(T0 - 3600_000) });
    expect(started.env.data.actual_start).toBe(iso(T0 - 3600_000));
    const early = await act(gw, planner.token, id, 'done', { at: iso(T0 - 7200_000) });
    expect(early.status).toBe(422);
    expect(early.env.error.details).toEqual([expect.objectContaining({ path: 'at' })]);
    expect((await act(gw, planner.token, id, 'done', { at: iso(T0 + 4 * 60_000) })).status).toBe(200);
  });

  it('reads a time without offset in the plant time zone', async () => {
    const berlin = makeGateway({ PLANT_TZ: 'Europe/Berlin' });
    try {
      const p = await berlin.login('planner');
      const wo = await createWorkOrder(berlin, p.token);
      const res = await act(berlin, p.token, wo.stages[0]?.id ?? 0, 'start', { at: '2026-11-26T08:30:00' });
      expect(res.env.data.actual_start).toBe('2026-11-26T07:30:00.000Z');
    } finally {
      berlin.close();
    }
  });
});

describe('assignments', () => {
  it('lets a worker act only on assigned stages and shows only those', async () => {
    const worker = await gw.login('worker');
    const wo = await createWorkOrder(gw, planner.token);
    const [first, second] = wo.stages;
    if (!first || !second) throw new Error('template stages missing');
    expect((await act(gw, worker.token, first.id, 'start')).status).toBe(403);
    const assign = await gw.req('POST', `/stages/${first.id}/assignments`, { token: planner.token, body: { user_id: worker.id } });
    expect(assign.status).toBe(201);
    expect((await gw.req('POST', `/stages/${first.id}/assignments`, { token: planner.token, body: { user_id: worker.id } })).status).toBe(409);
    expect((await gw.req('POST', `/stages/${first.id}/assignments`, { token: planner.token, body: { user_id: 123456789 } })).status).toBe(422);
    expect((await act(gw, worker.token, first.id, 'start')).status).toBe(200);
    expect((await act(gw, worker.token, second.id, 'start')).status).toBe(403);

    const mine = await body<Array<{ id: number }>>(await gw.req('GET', '/stages?assigned_to=me', { token: worker.token }));
    expect(mine.data.map((s) => s.id)).toEqual([first.id]);
    const all = await body<Array<{ id: number }>>(await gw.req('GET', '/stages', { token: worker.token }));
    expect(all.data.map((s) => s.id)).toEqual([first.id]);
    const ofWo = await body<Array<{ id: number; assigned_user_ids: number[] }>>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: worker.token }));
    expect(ofWo.data).toEqual([expect.objectContaining({ id: first.id, assigned_user_ids: [worker.id] })]);
    const planners = await body<unknown[]>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner.token }));
    expect(planners.data).toHaveLength(4);
    const list = await body<Array<{ user_id: number; username: string }>>(await gw.req('GET', `/stages/${first.id}/assignments`, { token: worker.token }));
    expect(list.data).toEqual([expect.objectContaining({ user_id: worker.id })]);

    expect((await gw.req('DELETE', `/stages/${first.id}/assignments/${worker.id}`, { token: planner.token })).status).toBe(204);
    expect((await gw.req('DELETE', `/stages/${first.id}/assignments/${worker.id}`, { token: planner.token })).status).toBe(404);
    expect((await act(gw, worker.token, first.id, 'pause', { reason: 'x' })).status).toBe(403);
  });

  it('filters /stages by status and work order, with pagination', async () => {
    const a = await createWorkOrder(gw, planner.token);
    await createWorkOrder(gw, planner.token);
    await act(gw, planner.token, a.stages[0]?.id ?? 0, 'start');
    const started = await body<Array<{ id: number }>>(await gw.req('GET', '/stages?status=in_progress', { token: planner.token }));
    expect(started.data.map((s) => s.id)).toEqual([a.stages[0]?.id]);
    const ofA = await body<Array<{ work_order_id: number }>>(await gw.req('GET', `/stages?work_order_id=${a.id}`, { token: planner.token }));
    expect(ofA.data.every((s) => s.work_order_id === a.id)).toBe(true);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: number }>; meta: Record<string, unknown> } = await body(
        await gw.req('GET', `/stages?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: planner.token }),
      );
      seen.push(...page.data.map((s) => s.id));
      cursor = page.meta.next_cursor as string | null;
    } while (cursor);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
  });
});
