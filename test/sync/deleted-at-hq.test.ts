import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

// HQ deletes a row while the link is cut and the floor works on it (docs/adr/0014): the delete
// wins on both sides, and the floor's version is kept as a conflict the site's people can see.

let hq: Hq;
let edge: Edge;
let planner: string;
let admin: string;

beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(7, await hq.addSite(7));
  planner = (await edge.gw.login('planner')).token;
  admin = (await edge.gw.login('admin')).token;
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await edge?.close();
  await hq?.close();
});

interface Conflict {
  direction: string;
  tbl: string;
  pk: string;
  data: string;
  reason: string;
}

const conflicts = () =>
  edge.gw.ctx.store.sqlite.prepare("SELECT direction, tbl, pk, data, reason FROM sync_rejected WHERE direction = 'conflict'").all() as Conflict[];

/** Cycles until the edge no longer holds the stage (the pull waits for HQ's horizon). */
async function cycleUntilGone(stageId: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  do {
    await edge.sync.runCycle();
    if (!edge.gw.ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(stageId)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() < deadline);
}

describe('a floor action on a row HQ deleted', () => {
  it('is kept as a conflict with the floor’s version when HQ’s delete wins, and both sides agree', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'DELETED-AT-HQ' });
    const stage = wo.stages[1];
    if (!stage) throw new Error('no stage');
    await edge.sync.runCycle();
    expect(conflicts()).toEqual([]);

    // The link is cut: HQ deletes the stage, the floor starts it.
    await hqRows(hq, 'DELETE FROM work_order_stages WHERE id = $1', [stage.id]);
    expect((await act(edge.gw, planner, stage.id, 'start')).status).toBe(200);

    await cycleUntilGone(stage.id);
    const [hqStage] = await hqRows<{ _deleted: boolean }>(hq, 'SELECT _deleted FROM work_order_stages WHERE id = $1', [stage.id]);
    expect(hqStage?._deleted).toBe(true);
    expect(edge.gw.ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(stage.id)).toBeUndefined();

    const [conflict] = conflicts();
    expect(conflict).toMatchObject({ direction: 'conflict', tbl: 'work_order_stages', pk: String(stage.id) });
    expect(JSON.parse(conflict?.data ?? '{}')).toMatchObject({ id: stage.id, status: 'in_progress', work_order_id: wo.id });
    expect(conflict?.reason).toMatch(/deleted at HQ/);

    // The start itself stays on record as an event row at HQ.
    const [started] = await hqRows<{ n: string }>(hq, "SELECT count(*) AS n FROM events WHERE kind = 'stage.started' AND entity_id = $1", [stage.id]);
    expect(Number(started?.n)).toBe(1);

    const status = await body<Record<string, unknown>>(await edge.gw.req('GET', '/sync/status', { token: admin }));
    expect(JSON.stringify(status.data)).toContain('work_order_stages');
  });

  it('removes an issue reported on the floor under a work order HQ deleted meanwhile, on both sides, and keeps it as a conflict', async () => {
    const wo = await createWorkOrder(edge.gw, planner, { product_code: 'ORPHAN' });
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    await edge.sync.runCycle();
    const before = conflicts().length;

    // The link is cut: HQ deletes the work order (its stages follow), the floor reports an issue.
    await hqRows(hq, 'DELETE FROM work_orders WHERE id = $1', [wo.id]);
    const res = await edge.gw.req('POST', `/stages/${stage.id}/issue`, { token: planner, body: { type: 'tooling', description: 'worn cutter' } });
    expect(res.status).toBe(201);
    const issueId = (await body<{ id: number }>(res)).data.id;

    await cycleUntilGone(stage.id);
    await edge.sync.runCycle();
    const sqlite = edge.gw.ctx.store.sqlite;
    expect(sqlite.prepare('SELECT 1 FROM issues WHERE id = ?').get(issueId)).toBeUndefined();
    expect(sqlite.prepare('SELECT 1 FROM work_orders WHERE id = ?').get(wo.id)).toBeUndefined();
    const [hqIssue] = await hqRows<{ _deleted: boolean }>(hq, 'SELECT _deleted FROM issues WHERE id = $1', [issueId]);
    expect(hqIssue?._deleted).toBe(true);
    expect(sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'").get()).toEqual({ n: 0 });
    const recorded = conflicts().slice(before);
    expect(recorded.map((c) => c.tbl)).toContain('issues');
    expect(JSON.parse(recorded.find((c) => c.tbl === 'issues')?.data ?? '{}')).toMatchObject({ id: issueId, description: 'worn cutter' });
  });

  it('never leaves HQ a live stage under a work order deleted at the same moment, whichever commits first', async () => {
    for (const deleteFirst of [true, false]) {
      const [wo] = await hqRows<{ id: string }>(
        hq,
        "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (7, 'RACE', 'L', 1, now(), now() + interval '1 hour') RETURNING id",
      );
      const deleter = await hq.owner.connect();
      const adder = await hq.owner.connect();
      try {
        await deleter.query('BEGIN');
        await adder.query('BEGIN');
        const insert = "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (7, $1, 2, 'added') RETURNING id";
        let stageId: string | undefined;
        if (deleteFirst) {
          await deleter.query('DELETE FROM work_orders WHERE id = $1', [wo?.id]);
          const adding = adder.query<{ id: string }>(insert, [wo?.id]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          await deleter.query('COMMIT');
          stageId = (await adding).rows[0]?.id;
          await adder.query('COMMIT');
        } else {
          stageId = (await adder.query<{ id: string }>(insert, [wo?.id])).rows[0]?.id;
          const deleting = deleter.query('DELETE FROM work_orders WHERE id = $1', [wo?.id]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          await adder.query('COMMIT');
          await deleting;
          await deleter.query('COMMIT');
        }
        const [stage] = await hqRows<{ _deleted: boolean }>(hq, 'SELECT _deleted FROM work_order_stages WHERE id = $1', [stageId]);
        expect(stage?._deleted, deleteFirst ? 'delete committed first' : 'insert committed first').toBe(true);
      } finally {
        deleter.release();
        adder.release();
      }
    }
  });

  it('refuses at HQ a second live stage with the same seq in one work order, which no edge could hold', async () => {
    const [wo] = await hqRows<{ id: string }>(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (7, 'SEQ', 'L', 1, now(), now() + interval '1 hour') RETURNING id",
    );
    const add = "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (7, $1, 3, 'twice') RETURNING id";
    const [first] = await hqRows<{ id: string }>(hq, add, [wo?.id]);
    await expect(hqRows(hq, add, [wo?.id])).rejects.toMatchObject({ code: '23505' });
    // A deleted stage frees its seq, as on the edge.
    await hqRows(hq, 'DELETE FROM work_order_stages WHERE id = $1', [first?.id]);
    expect(await hqRows(hq, add, [wo?.id])).toHaveLength(1);
  });

  it('signs out and removes a user HQ deleted, though the user has sessions, a badge and a station marked on the edge', async () => {
    const worker = await edge.gw.login('worker', 'leaver');
    expect((await edge.gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(200);
    // The edge's own rows that name the user: a badge goes with the user, a station stays.
    expect((await edge.gw.req('PUT', `/auth/users/${worker.id}/badge`, { token: admin, body: { badge: '9001', pin: '4321' } })).status).toBe(204);
    edge.gw.ctx.store.sqlite.prepare("INSERT INTO stations (id, name, token_hash, created_by, created_at) VALUES (9001, 'Saw 9', 'hash', ?, 0)").run(worker.id);
    await edge.sync.runCycle();
    await hqRows(hq, 'DELETE FROM users WHERE id = $1', [worker.id]);
    const gone = () => !edge.gw.ctx.store.sqlite.prepare('SELECT 1 FROM users WHERE id = ?').get(worker.id);
    const deadline = Date.now() + 20_000;
    while (!gone() && Date.now() < deadline) await edge.sync.runCycle();
    expect(gone()).toBe(true);
    expect(edge.gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE tbl = 'users'").get()).toEqual({ n: 0 });
    expect((await edge.gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
    expect(edge.gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM user_badges WHERE user_id = ?').get(worker.id)).toEqual({ n: 0 });
    expect(edge.gw.ctx.store.sqlite.prepare('SELECT name FROM stations WHERE created_by = ?').get(worker.id)).toEqual({ name: 'Saw 9' });
  });

  it('records nothing when HQ deletes a stage the floor never touched after creating the plan elsewhere', async () => {
    const before = conflicts().length;
    const [row] = await hqRows<{ id: string }>(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (7, 'HQ-ONLY', 'L', 1, now(), now() + interval '1 hour') RETURNING id",
    );
    const [st] = await hqRows<{ id: string }>(
      hq,
      "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (7, $1, 1, 'cut') RETURNING id",
      [row?.id],
    );
    const deadline = Date.now() + 20_000;
    while (!edge.gw.ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(Number(st?.id)) && Date.now() < deadline) {
      await edge.sync.runCycle();
    }
    await hqRows(hq, 'DELETE FROM work_order_stages WHERE id = $1', [st?.id]);
    await cycleUntilGone(Number(st?.id));
    expect(edge.gw.ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(Number(st?.id))).toBeUndefined();
    expect(conflicts().length).toBe(before);
  });
});
