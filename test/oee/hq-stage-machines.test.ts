import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/connection.ts';
import { laterCaptureSql } from '../../sync/capture-sql.ts';
import { restoreSite } from '../../sync/restore.ts';
import { body, type TestGateway } from '../helpers/app.ts';
import { createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from '../sync/fixture.ts';

/**
 * pullUntil for up to 90 s: the pull stops below the oldest transaction open anywhere on the server,
 * and other suites sharing it (another worktree's sync tests) can hold that back for tens of seconds.
 */
async function pulled(edge: Edge, done: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000;
  do await pullUntil(edge, done);
  while (!(await done()) && Date.now() < deadline);
}

interface LinkAtHq {
  site_id: number;
  machine_id: string;
  _deleted: boolean;
}

describe("a stage's machine (stage_machines) at HQ", { timeout: 200_000 }, () => {
  let hq: Hq;
  let edge: Edge;
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    hq = await startHq();
    edge = startEdge(7, await hq.addSite(7));
    gw = edge.gw;
    admin = (await gw.login('admin')).token;
  }, HQ_START_TIMEOUT);
  afterAll(async () => {
    await edge?.close();
    await hq?.close();
  });

  const machine = async (name: string) =>
    (await body<{ id: number }>(await gw.req('POST', '/machines', { token: admin, body: { name, machine_type: 'press', status: 'idle' } }))).data.id;
  const linkAtHq = async (stageId: number) =>
    (await hqRows<LinkAtHq>(hq, 'SELECT site_id, machine_id::text, _deleted FROM stage_machines WHERE stage_id = $1', [stageId]))[0];
  const machineOfStage = async (stageId: number) =>
    (await body<{ machine_id: number | null }>(await gw.req('GET', `/stages/${stageId}/machine`, { token: admin }))).data.machine_id;
  const setAside = () => (gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'").get() as { n: number }).n;

  it('SQLite migration 0012 carries the capture triggers the generator writes for stage_machines', () => {
    const migration = readFileSync(path.join(MIGRATIONS_DIR, '0012_stage_machines_sync.sql'), 'utf8');
    expect(migration.endsWith(laterCaptureSql('0012_stage_machines_sync'))).toBe(true);
    expect(laterCaptureSql('0012_stage_machines_sync')).toContain('CREATE TRIGGER sync_stage_machines_ad');
  });

  it('a link named on the floor reaches HQ; changed, cleared and named again, HQ follows (last writer wins, clearing is a tombstone)', async () => {
    const press = await machine('press-1');
    const lathe = await machine('lathe-1');
    const wo = await createWorkOrder(gw, admin, { lot_no: 'LOT-A', stages: [{ stage_name: 'pressing', machine_id: press }] });
    const stageId = wo.stages[0]?.id ?? 0;
    expect((await edge.sync.runCycle()).rejected).toBe(0);
    expect(await linkAtHq(stageId)).toEqual({ site_id: 7, machine_id: String(press), _deleted: false });
    // Per-work-order OEE across sites joins the link to the stage's quantities.
    const joined = await hqRows(
      hq,
      'SELECT s.work_order_id::text AS wo, m.name FROM stage_machines l JOIN work_order_stages s ON s.id = l.stage_id JOIN machines m ON m.id = l.machine_id WHERE l.stage_id = $1 AND NOT l._deleted',
      [stageId],
    );
    expect(joined).toEqual([{ wo: String(wo.id), name: 'press-1' }]);

    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: lathe } })).status).toBe(200);
    await edge.sync.runCycle();
    expect(await linkAtHq(stageId)).toEqual({ site_id: 7, machine_id: String(lathe), _deleted: false });
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: null } })).status).toBe(200);
    await edge.sync.runCycle();
    expect((await linkAtHq(stageId))?._deleted).toBe(true);
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: press } })).status).toBe(200);
    expect((await edge.sync.runCycle()).rejected).toBe(0);
    expect(await linkAtHq(stageId)).toEqual({ site_id: 7, machine_id: String(press), _deleted: false });
    expect(setAside()).toBe(0);
  });

  it("a planner's plain SQL at HQ names, changes and clears a stage's machine on the floor", async () => {
    const press = await machine('press-2');
    const saw = await machine('saw-2');
    const wo = await createWorkOrder(gw, admin, { lot_no: 'LOT-B', stages: [{ stage_name: 'sawing' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    await edge.sync.runCycle();
    await hqRows(hq, 'INSERT INTO stage_machines (site_id, stage_id, machine_id) VALUES (7, $1, $2)', [stageId, saw]);
    await pulled(edge, async () => (await machineOfStage(stageId)) === saw);
    const stages = (await body<Array<{ id: number; machine_id: number | null }>>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: admin }))).data;
    expect(stages).toEqual([expect.objectContaining({ id: stageId, machine_id: saw })]);
    await hqRows(hq, 'UPDATE stage_machines SET machine_id = $2 WHERE stage_id = $1', [stageId, press]);
    await pulled(edge, async () => (await machineOfStage(stageId)) === press);
    expect(await machineOfStage(stageId)).toBe(press);
    await hqRows(hq, 'DELETE FROM stage_machines WHERE stage_id = $1', [stageId]);
    await pulled(edge, async () => (await machineOfStage(stageId)) === null);
    expect(await machineOfStage(stageId)).toBeNull();
    expect((await linkAtHq(stageId))?._deleted).toBe(true);
    expect(setAside()).toBe(0);
  });

  it('a stage or a machine deleted at HQ takes its link with it, at HQ and on the floor, nothing set aside', async () => {
    const press = await machine('press-3');
    const lathe = await machine('lathe-3');
    const wo = await createWorkOrder(gw, admin, {
      lot_no: 'LOT-C',
      stages: [
        { stage_name: 'pressing', machine_id: press },
        { stage_name: 'turning', machine_id: lathe },
      ],
    });
    const [pressing, turning] = wo.stages.map((s) => s.id);
    if (pressing === undefined || turning === undefined) throw new Error('stages missing');
    expect((await edge.sync.runCycle()).rejected).toBe(0);

    await hqRows(hq, 'DELETE FROM work_order_stages WHERE id = $1', [pressing]);
    expect((await linkAtHq(pressing))?._deleted).toBe(true);
    await hqRows(hq, 'DELETE FROM machines WHERE id = $1', [lathe]);
    expect((await linkAtHq(turning))?._deleted).toBe(true);
    const sqlite = gw.ctx.store.sqlite;
    const links = () => (sqlite.prepare('SELECT count(*) AS n FROM stage_machines WHERE stage_id IN (?, ?)').get(pressing, turning) as { n: number }).n;
    const gone = () => sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(pressing) === undefined && links() === 0;
    await pulled(edge, gone);
    expect(gone()).toBe(true);
    expect(await machineOfStage(turning)).toBeNull();
    expect(setAside()).toBe(0);
    expect((await edge.sync.runCycle()).rejected).toBe(0);
  });

  it('a link the floor names after HQ deleted its machine follows the machine, at HQ and on the floor', async () => {
    const press = await machine('press-4');
    const wo = await createWorkOrder(gw, admin, { lot_no: 'LOT-D', stages: [{ stage_name: 'pressing' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    await edge.sync.runCycle();
    await hqRows(hq, 'DELETE FROM machines WHERE id = $1', [press]);
    // Named on the floor before the site heard of the delete.
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: press } })).status).toBe(200);
    const sqlite = gw.ctx.store.sqlite;
    await pulled(edge, () => sqlite.prepare('SELECT 1 FROM machines WHERE id = ?').get(press) === undefined);
    expect(await machineOfStage(stageId)).toBeNull();
    expect((await linkAtHq(stageId))?._deleted).toBe(true);
    expect(setAside()).toBe(0);
  });

  it("a site cannot name an HQ-range machine HQ does not hold for it (another site's)", async () => {
    const other = (
      await hqRows<{ id: string }>(
        hq,
        "INSERT INTO machines (site_id, name, machine_type, status, source) VALUES (8, 'press-8', 'press', 'idle', 'manual') RETURNING id",
      )
    )[0]?.id;
    const wo = await createWorkOrder(gw, admin, { lot_no: 'LOT-E', stages: [{ stage_name: 'pressing' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    await edge.sync.runCycle();
    // Only a shell on the box could write it: the API refuses a machine the box does not hold.
    const sqlite = gw.ctx.store.sqlite;
    sqlite.pragma('foreign_keys = OFF');
    try {
      sqlite.prepare('INSERT INTO stage_machines (stage_id, machine_id, set_at) VALUES (?, ?, ?)').run(stageId, Number(other), gw.clock.now());
    } finally {
      sqlite.pragma('foreign_keys = ON');
    }
    expect((await edge.sync.runCycle()).rejected).toBe(1);
    expect(await linkAtHq(stageId)).toBeUndefined();
    sqlite.prepare('DELETE FROM stage_machines WHERE stage_id = ?').run(stageId);
    sqlite.prepare('DELETE FROM sync_rejected').run();
  });
  it('a replacement box restored from HQ names the same machines for its stages', async () => {
    const old = startEdge(9, await hq.addSite(9));
    const planner = await old.gw.login('admin');
    const m = await old.gw.req('POST', '/machines', { token: planner.token, body: { name: 'press-9', machine_type: 'press', status: 'idle' } });
    const press = (await body<{ id: number }>(m)).data.id;
    const wo = await createWorkOrder(old.gw, planner.token, {
      lot_no: 'LOT-R',
      stages: [{ stage_name: 'pressing', machine_id: press }, { stage_name: 'packing' }],
    });
    expect((await old.sync.runCycle()).rejected).toBe(0);
    const before = (await body(await old.gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner.token }))).data;
    await old.close();
    const fresh = startEdge(9, await hq.addSite(9));
    try {
      const { counts, skipped } = await restoreSite(fresh.gw.ctx.store.sqlite, fresh.sync.pool, 9);
      expect(counts).toMatchObject({ stage_machines: 1 });
      expect(skipped).toEqual([]);
      const admin = await fresh.gw.login('admin');
      const after = (await body<Array<{ machine_id: number | null }>>(await fresh.gw.req('GET', `/workorders/${wo.id}/stages`, { token: admin.token }))).data;
      expect(after).toEqual(before);
      expect(after.map((s) => s.machine_id)).toEqual([press, null]);
    } finally {
      await fresh.close();
    }
  });
});
