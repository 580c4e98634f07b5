import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/connection.ts';
import { PACKAGE_ROOT } from '../../src/lib/package-root.ts';
import { laterCaptureSql } from '../../sync/capture-sql.ts';
import { listMigrations } from '../../sync/hq/migrate.ts';
import { reconcileAllDowntimes } from '../../src/modules/oee/downtime-records.ts';
import { startRunRecorder } from '../../src/modules/oee/runs.ts';
import { recordEndedShifts } from '../../src/modules/oee/shift-records.ts';
import { body } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from '../sync/fixture.ts';

const MIN = 60_000;
const Z = (hhmm: string) => Date.parse(`2026-11-26T${hhmm}:00Z`);

// A UTC plant (the fixture's default zone), early shift 06:00–14:00 with a 30-minute break at 10:00: 450 min planned.
const SETTINGS = `
oee:
  shifts:
    - { name: early, days: [thu], start: "06:00", end: "14:00", breaks: [{ start: "10:00", end: "10:30" }] }
  ideal_cycle_s: { machines: { cnc-7: 30 } }
`;

describe('OEE at HQ', () => {
  let hq: Hq;
  let edge: Edge;

  beforeAll(async () => {
    hq = await startHq();
    edge = startEdge(7, await hq.addSite(7), { settings: SETTINGS });
  }, HQ_START_TIMEOUT);
  afterAll(async () => {
    await edge?.close();
    await hq?.close();
  });

  it('SQLite migration 0009 carries the capture triggers the generator writes for the OEE tables', () => {
    const migration = readFileSync(path.join(MIGRATIONS_DIR, '0009_oee_sync.sql'), 'utf8');
    expect(migration.endsWith(laterCaptureSql('0009_oee_sync'))).toBe(true);
    expect(laterCaptureSql('0009_oee_sync')).toContain('CREATE TRIGGER sync_downtimes_au');
  });

  it("downtime records, gateway runs and each shift's OEE inputs reach HQ; the view gives OEE per site, machine and shift", async () => {
    const gw = edge.gw;
    gw.clock.set(Z('05:00'));
    const run = startRunRecorder(gw.ctx);
    const admin = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token: admin, body: { name: 'cnc-7', machine_type: 'cnc', status: 'running' } });
    const machineId = (await body<{ id: number }>(m)).data.id;
    const wo = await createWorkOrder(gw, admin, { stages: [{ stage_name: 'milling' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    expect((await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: machineId } })).status).toBe(200);
    gw.clock.set(Z('06:00'));
    expect((await act(gw, admin, stageId, 'start')).status).toBe(200);
    gw.clock.set(Z('08:00'));
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'down' } });
    gw.clock.set(Z('08:45'));
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'running' } });
    gw.clock.set(Z('13:00'));
    expect((await act(gw, admin, stageId, 'done', { qty_good: 600, qty_scrap: 30 })).status).toBe(200);
    gw.clock.set(Z('14:05'));
    reconcileAllDowntimes(gw.ctx);
    expect(recordEndedShifts(gw.ctx)).toBe(1);
    expect(recordEndedShifts(gw.ctx)).toBe(0); // nothing changed: nothing written again
    const downtimeId = (await body<Array<{ id: number }>>(await gw.req('GET', '/downtimes', { token: admin }))).data[0]?.id;
    expect((await gw.req('PATCH', `/downtimes/${downtimeId}`, { token: admin, body: { reason_code: 'tool_change' } })).status).toBe(200);
    run.stop();
    await edge.sync.runCycle();

    const [d] = await hqRows(hq, 'SELECT site_id, machine_id, started_at, ended_at, state, reason_code FROM downtimes WHERE id = $1', [downtimeId]);
    expect(d).toEqual({
      site_id: 7,
      machine_id: machineId,
      started_at: new Date(Z('08:00')),
      ended_at: new Date(Z('08:45')),
      state: 'down',
      reason_code: 'tool_change',
    });
    const runs = await hqRows(hq, 'SELECT started_at, stopped_at FROM gateway_runs WHERE site_id = 7');
    expect(runs).toEqual([{ started_at: new Date(Z('05:00')), stopped_at: new Date(Z('14:05')) }]);
    // By hand: planned 450 min, down 45 → run 405 min; 630 pieces × 30 s = 315 min; quality 600/630.
    const [v] = await hqRows<Record<string, string | number>>(
      hq,
      'SELECT site_id, machine_name, shift, planned_ms, run_ms, downtime_ms, good, scrap, ideal_ms, availability, performance, quality, oee FROM oee_by_shift WHERE machine_id = $1',
      [machineId],
    );
    expect(v).toMatchObject({ site_id: 7, machine_name: 'cnc-7', shift: '2026-11-26/early' });
    const ints = ['planned_ms', 'run_ms', 'downtime_ms', 'good', 'scrap', 'ideal_ms'].map((k) => Number(v?.[k]));
    expect(ints).toEqual([450 * MIN, 405 * MIN, 45 * MIN, 600, 30, 315 * MIN]);
    expect(Number(v?.availability)).toBeCloseTo(405 / 450, 12);
    expect(Number(v?.performance)).toBeCloseTo(315 / 405, 12);
    expect(Number(v?.quality)).toBeCloseTo(600 / 630, 12);
    expect(Number(v?.oee)).toBeCloseTo((600 * 30) / (450 * 60), 12);
  });

  it("a reason corrected at HQ with plain SQL reaches the site's downtime list", async () => {
    const [d] = await hqRows<{ id: number }>(hq, "UPDATE downtimes SET reason_code = 'jam', note = 'HQ review' WHERE site_id = 7 RETURNING id");
    expect(d).toBeDefined();
    const admin = (await edge.gw.login('admin')).token;
    const reasonAtEdge = async () =>
      (await body<{ reason_code: string; note: string }>(await edge.gw.req('GET', `/downtimes/${d?.id}`, { token: admin }))).data;
    await pullUntil(edge, async () => (await reasonAtEdge()).reason_code === 'jam');
    expect(await reasonAtEdge()).toMatchObject({ reason_code: 'jam', note: 'HQ review', reason_label: 'Mechanical / Jam' });
  });

  it('a machine deleted at HQ with plain SQL takes its downtime records and shift OEE with it, at HQ and on the site, nothing set aside', async () => {
    const gw = edge.gw;
    // The next Thursday's early shift: a press that stopped for 30 minutes, on no stage.
    const D = (hhmm: string) => Date.parse(`2026-12-03T${hhmm}:00Z`);
    gw.clock.set(D('05:00'));
    const run = startRunRecorder(gw.ctx);
    const admin = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token: admin, body: { name: 'press-2', machine_type: 'press', status: 'running' } });
    expect(m.status).toBe(201);
    const machineId = (await body<{ id: number }>(m)).data.id;
    gw.clock.set(D('07:00'));
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'down' } });
    gw.clock.set(D('07:30'));
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'running' } });
    gw.clock.set(D('14:05'));
    reconcileAllDowntimes(gw.ctx);
    recordEndedShifts(gw.ctx);
    run.stop();
    const sqlite = gw.ctx.store.sqlite;
    const edgeCount = (sql: string) => (sqlite.prepare(sql).get(machineId) as { n: number }).n;
    const onEdge = () => ({
      machines: edgeCount('SELECT count(*) AS n FROM machines WHERE id = ?'),
      downtimes: edgeCount('SELECT count(*) AS n FROM downtimes WHERE machine_id = ?'),
      shift_oee: edgeCount('SELECT count(*) AS n FROM shift_oee WHERE machine_id = ?'),
    });
    expect(onEdge()).toEqual({ machines: 1, downtimes: 1, shift_oee: 1 });
    expect((await edge.sync.runCycle()).rejected).toBe(0);
    const liveAtHq = async () =>
      (
        await hqRows<Record<string, number>>(
          hq,
          `SELECT (SELECT count(*)::int FROM machines WHERE id = $1 AND NOT _deleted) AS machines,
                  (SELECT count(*)::int FROM downtimes WHERE machine_id = $1 AND NOT _deleted) AS downtimes,
                  (SELECT count(*)::int FROM shift_oee WHERE machine_id = $1 AND NOT _deleted) AS shift_oee`,
          [machineId],
        )
      )[0];
    expect(await liveAtHq()).toEqual({ machines: 1, downtimes: 1, shift_oee: 1 });

    // An HQ tool's plain SQL.
    await hqRows(hq, 'DELETE FROM machines WHERE id = $1', [machineId]);
    expect(await liveAtHq()).toEqual({ machines: 0, downtimes: 0, shift_oee: 0 });
    await pullUntil(edge, () => onEdge().machines === 0);
    expect(onEdge()).toEqual({ machines: 0, downtimes: 0, shift_oee: 0 });
    expect((sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'").get() as { n: number }).n).toBe(0);
    expect((await edge.sync.runCycle()).rejected).toBe(0);
    expect(await liveAtHq()).toEqual({ machines: 0, downtimes: 0, shift_oee: 0 });
    // The machine of the first shift, and its records, stay.
    expect((await hqRows<{ n: number }>(hq, 'SELECT count(*)::int AS n FROM shift_oee WHERE site_id = 7 AND NOT _deleted'))[0]?.n).toBeGreaterThan(0);
  });

  it('a downtime record the site pushes after HQ deleted its machine follows the machine, at HQ and on the site', async () => {
    const gw = edge.gw;
    const admin = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token: admin, body: { name: 'saw-3', machine_type: 'saw', status: 'running' } });
    const machineId = (await body<{ id: number }>(m)).data.id;
    await edge.sync.runCycle();
    await hqRows(hq, 'DELETE FROM machines WHERE id = $1', [machineId]);
    // Recorded on the floor before the site heard of the delete.
    const sqlite = gw.ctx.store.sqlite;
    const id = gw.ctx.store.ids.next('downtimes');
    const at = gw.clock.now();
    sqlite
      .prepare("INSERT INTO downtimes (id, machine_id, started_at, ended_at, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'down', ?, ?)")
      .run(id, machineId, at - 30 * MIN, at, at, at);
    await pullUntil(edge, () => sqlite.prepare('SELECT 1 FROM machines WHERE id = ?').get(machineId) === undefined);
    expect(sqlite.prepare('SELECT count(*) AS n FROM downtimes WHERE id = ?').get(id)).toEqual({ n: 0 });
    expect(await hqRows(hq, 'SELECT _deleted FROM downtimes WHERE id = $1', [id])).toEqual([{ _deleted: true }]);
    expect(sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'").get()).toEqual({ n: 0 });
  });

  it("a machine deleted at HQ that a stage on the floor runs on goes from the site too: the stage's machine link goes with it, nothing set aside", async () => {
    const gw = edge.gw;
    const admin = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token: admin, body: { name: 'press-4', machine_type: 'press', status: 'running' } });
    const machineId = (await body<{ id: number }>(m)).data.id;
    const wo = await createWorkOrder(gw, admin, { lot_no: 'LOT-PRESS-4', stages: [{ stage_name: 'pressing' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    const link = await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: machineId } });
    expect(link.status).toBe(200);
    expect((await edge.sync.runCycle()).rejected).toBe(0);

    await hqRows(hq, 'DELETE FROM machines WHERE id = $1', [machineId]);
    const sqlite = gw.ctx.store.sqlite;
    await pullUntil(edge, () => sqlite.prepare('SELECT 1 FROM machines WHERE id = ?').get(machineId) === undefined);
    expect(sqlite.prepare('SELECT count(*) AS n FROM stage_machines WHERE stage_id = ?').get(stageId)).toEqual({ n: 0 });
    expect(sqlite.prepare("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'").get()).toEqual({ n: 0 });
    // The stage itself is floor work HQ did not delete: it stays, with no machine named.
    const named = await gw.req('GET', `/stages/${stageId}/machine`, { token: admin });
    expect((await body<{ machine_id: number | null }>(named)).data.machine_id).toBeNull();
  });

  it('HQ migration 0009 mends machines deleted before it: their live downtime records and shift OEE are tombstoned, the machine logged again after them', async () => {
    const dir = path.join(PACKAGE_ROOT, 'migrations', 'postgres');
    const c = await hq.owner.connect();
    try {
      await c.query('CREATE SCHEMA before_0009');
      await c.query('SET search_path TO before_0009');
      for (const f of listMigrations(dir).filter((m) => m.version < '0009')) await c.query(f.sql);
      const machine = (
        await c.query<{ id: string }>(
          "INSERT INTO machines (site_id, name, machine_type, status, source) VALUES (1, 'old', 'cnc', 'idle', 'manual') RETURNING id",
        )
      ).rows[0]?.id;
      const site = 1n << 40n;
      await c.query(
        "INSERT INTO downtimes (site_id, id, machine_id, started_at, state, created_at, updated_at) VALUES (1, $1, $2, now(), 'down', now(), now())",
        [String(site + 1n), machine],
      );
      await c.query(
        `INSERT INTO shift_oee (site_id, id, machine_id, shift, shift_start, shift_end, planned_ms, run_ms, unknown_ms, downtime_ms, short_stop_ms, good, scrap, created_at, updated_at)
         VALUES (1, $1, $2, 's', now(), now(), 1, 1, 0, 0, 0, 1, 0, now(), now())`,
        [String(site + 2n), machine],
      );
      await c.query('DELETE FROM machines WHERE id = $1', [machine]);
      const last = (await c.query<{ n: string }>('SELECT max(log_id) AS n FROM sync_change_log')).rows[0]?.n;
      await c.query('BEGIN');
      await c.query(readFileSync(path.join(dir, '0009_machines_take_their_oee_rows.sql'), 'utf8'));
      await c.query('COMMIT');
      const live = await c.query(
        'SELECT (SELECT count(*)::int FROM downtimes WHERE NOT _deleted) AS downtimes, (SELECT count(*)::int FROM shift_oee WHERE NOT _deleted) AS shift_oee',
      );
      expect(live.rows).toEqual([{ downtimes: 0, shift_oee: 0 }]);
      const logged = await c.query('SELECT tbl, pk FROM sync_change_log WHERE log_id > $1 ORDER BY log_id', [last]);
      expect(logged.rows.map((r) => r.tbl)).toEqual(['downtimes', 'shift_oee', 'machines']);
      expect(logged.rows.at(-1)).toEqual({ tbl: 'machines', pk: String(machine) });
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.query('DROP SCHEMA IF EXISTS before_0009 CASCADE').catch(() => {});
      await c.query('SET search_path TO public').catch(() => {});
      c.release();
    }
  });
});
