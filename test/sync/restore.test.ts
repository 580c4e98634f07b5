import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreSite } from '../../sync/restore.ts';
import { body } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

let hq: Hq;
let url: string;
beforeAll(async () => {
  hq = await startHq();
  url = await hq.addSite(31);
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
});

describe('restore of a wiped box', () => {
  it('answers the API as before and continues its ids and outbox past what HQ holds', async () => {
    const old = startEdge(31, url);
    const planner = await old.gw.login('planner', 'plan31');
    const worker = await old.gw.login('worker', 'work31');
    const wo = await createWorkOrder(old.gw, planner.token, { product_code: 'RESTORE' });
    const [s1, s2] = wo.stages;
    if (!s1 || !s2) throw new Error('no stages');
    await act(old.gw, planner.token, s1.id, 'start');
    await act(old.gw, planner.token, s1.id, 'done', { qty_good: 4, qty_scrap: 0 });
    await old.gw.req('POST', `/stages/${s2.id}/assignments`, { token: planner.token, body: { user_id: worker.id } });
    await old.gw.req('POST', `/stages/${s2.id}/issue`, { token: planner.token, body: { type: 'quality', description: 'burrs' } });
    await old.sync.runCycle();
    const before = {
      list: (await body(await old.gw.req('GET', '/workorders', { token: planner.token }))).data,
      stages: (await body(await old.gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner.token }))).data,
      mine: (await body(await old.gw.req('GET', '/stages?assigned_to=me', { token: worker.token }))).data,
    };
    await old.close(); // the box is gone

    const fresh = startEdge(31, url);
    try {
      const lines: string[] = [];
      const { counts, skipped } = await restoreSite(fresh.gw.ctx.store.sqlite, fresh.sync.pool, 31, (l) => lines.push(l));
      expect(counts).toMatchObject({ work_orders: 1, work_order_stages: 4, stage_assignments: 1, issues: 1 });
      expect(skipped).toEqual([]);
      expect(lines.at(-1)).toMatch(/restore: done/);
      // Same users and passwords: log in again and see the same answers.
      const login = async (username: string, password: string) =>
        (await body<{ access_token: string }>(await fresh.gw.req('POST', '/auth/login', { body: { username, password } }))).data.access_token;
      const p = await login('plan31', planner.password);
      const w = await login('work31', worker.password);
      expect((await body(await fresh.gw.req('GET', '/workorders', { token: p }))).data).toEqual(before.list);
      expect((await body(await fresh.gw.req('GET', `/workorders/${wo.id}/stages`, { token: p }))).data).toEqual(before.stages);
      expect((await body(await fresh.gw.req('GET', '/stages?assigned_to=me', { token: w }))).data).toEqual(before.mine);
      // New work gets ids past the old ones and reaches HQ (outbox numbered after HQ's cursor).
      const next = await createWorkOrder(fresh.gw, p, { product_code: 'AFTER' });
      expect(next.id).toBeGreaterThan(wo.id);
      await fresh.sync.runCycle();
      expect(await hqRows(hq, "SELECT count(*)::int AS n FROM work_orders WHERE site_id = 31 AND product_code = 'AFTER'")).toEqual([{ n: 1 }]);
      await expect(restoreSite(fresh.gw.ctx.store.sqlite, fresh.sync.pool, 31)).rejects.toThrow(/empty database/);
    } finally {
      await fresh.close();
    }
  });
});
