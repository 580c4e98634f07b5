import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/connection.ts';
import { laterCaptureSql } from '../../sync/capture-sql.ts';
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
});
