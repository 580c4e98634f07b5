import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileAllDowntimes } from '../../src/modules/oee/downtime-records.ts';
import { startRunRecorder } from '../../src/modules/oee/runs.ts';
import { machineStates } from '../../src/modules/oee/states.ts';
import { body, makeGateway, type TestGateway } from '../helpers/app.ts';

const Z = (hhmm: string) => Date.parse(`2026-11-26T${hhmm}:00Z`);

describe('gateway runs and machine states across restarts', () => {
  let gw: TestGateway;
  beforeEach(() => {
    gw = makeGateway();
  });
  afterEach(() => gw.close());

  it('a crashed run counts as known up to its last minute alive; before the first recorded run, events alone count', async () => {
    gw.clock.set(Z('03:00'));
    const admin = (await gw.login('admin')).token;
    const res = await gw.req('POST', '/machines', { token: admin, body: { name: 'm1', machine_type: 'lathe', status: 'running' } });
    const id = (await body<{ id: number }>(res)).data.id;
    // A run that crashed: alive at 06:00, never stopped; then this process, started 06:30.
    gw.ctx.store.sqlite.prepare('INSERT INTO gateway_runs (id, started_at, alive_at) VALUES (1, ?, ?)').run(Z('04:00'), Z('06:00'));
    gw.clock.set(Z('06:30'));
    const current = startRunRecorder(gw.ctx);
    gw.clock.set(Z('07:00'));
    expect(machineStates(gw.ctx, id, { from: Z('03:30'), to: Z('08:00') })).toEqual([
      { state: 'running', from: Z('03:30'), to: Z('06:00') },
      { state: 'unknown', from: Z('06:00'), to: Z('06:30') },
      { state: 'running', from: Z('06:30'), to: Z('07:00') },
    ]);
    // A clean stop ends known time at the stop; the next start begins it again.
    gw.clock.set(Z('07:10'));
    current.stop();
    gw.clock.set(Z('07:40'));
    expect(machineStates(gw.ctx, id, { from: Z('06:45'), to: Z('07:40') })).toEqual([
      { state: 'running', from: Z('06:45'), to: Z('07:10') },
      { state: 'unknown', from: Z('07:10'), to: Z('07:40') },
    ]);
    const run = gw.ctx.store.sqlite.prepare('SELECT started_at, alive_at, stopped_at FROM gateway_runs WHERE id <> 1').get();
    expect(run).toEqual({ started_at: Z('06:30'), alive_at: Z('07:10'), stopped_at: Z('07:10') });
  });

  it("a machine down for days keeps one open downtime record, from the stop's start", async () => {
    gw.close();
    gw = makeGateway({}, undefined, 'oee:\n  shifts: [{ name: all, days: [sun, mon, tue, wed, thu, fri, sat], start: "00:00", end: "23:59" }]\n');
    gw.clock.set(Z('07:00'));
    const admin = (await gw.login('admin')).token;
    const res = await gw.req('POST', '/machines', { token: admin, body: { name: 'm2', machine_type: 'lathe', status: 'running' } });
    const id = (await body<{ id: number }>(res)).data.id;
    gw.clock.set(Z('08:00'));
    await gw.req('PATCH', `/machines/${id}`, { token: admin, body: { status: 'down' } });
    for (const days of [0, 1, 2]) {
      gw.clock.set(Z('09:00') + days * 86_400_000);
      reconcileAllDowntimes(gw.ctx);
    }
    const rows = gw.ctx.store.sqlite.prepare('SELECT started_at AS startedAt, ended_at AS endedAt FROM downtimes').all();
    expect(rows).toEqual([{ startedAt: Z('08:00'), endedAt: null }]);
  });
});
