import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileAllDowntimes } from '../../src/modules/oee/downtime-records.ts';
import { createUser } from '../../src/modules/auth/service.ts';
import { ConsoleAgent } from '../console-helpers.ts';
import { body, makeGateway, type TestGateway } from '../helpers/app.ts';

const Z = (hhmm: string) => Date.parse(`2026-11-26T${hhmm}:00Z`);

// Berlin (UTC+1 in November): the early shift 06:00–14:00 is 05:00–13:00Z.
const SETTINGS = `
oee:
  shifts: [{ name: early, days: [thu], start: "06:00", end: "14:00" }]
`;

describe('console: OEE tiles and the downtime reason picker', () => {
  let gw: TestGateway;
  let downtimeId: number;
  const agent = () => new ConsoleAgent(gw);

  beforeAll(async () => {
    gw = makeGateway({ PLANT_TZ: 'Europe/Berlin' }, undefined, SETTINGS);
    gw.clock.set(Z('05:00'));
    const admin = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token: admin, body: { name: 'press-9', machine_type: 'press', status: 'running' } });
    const id = (await body<{ id: number }>(m)).data.id;
    gw.clock.set(Z('06:00'));
    await gw.req('PATCH', `/machines/${id}`, { token: admin, body: { status: 'down' } });
    gw.clock.set(Z('06:10'));
    await gw.req('PATCH', `/machines/${id}`, { token: admin, body: { status: 'running' } });
    gw.clock.set(Z('07:00'));
    reconcileAllDowntimes(gw.ctx);
    downtimeId = (await body<Array<{ id: number }>>(await gw.req('GET', '/downtimes', { token: admin }))).data[0]?.id ?? 0;
    await createUser(gw.ctx, { username: 'mona', password: 'mona-password', role: 'manager' });
    await createUser(gw.ctx, { username: 'walt', password: 'walt-password', role: 'worker' });
  });
  afterAll(() => gw?.close());

  it('the Machines page shows the shift tile (plant time with zone) and the downtime with a reason picker', async () => {
    const a = agent();
    await a.signIn('mona', 'mona-password');
    const html = await (await a.get('/console/machines')).text();
    expect(html).toContain('OEE, shift 2026-11-26/early');
    // 120 minutes planned so far, 10 down: 91.7 %; nothing counted yet: n/a.
    expect(html).toMatch(/Availability<\/dt><dd[^>]*>91\.7 %/);
    expect(html).toMatch(/OEE<\/dt><dd[^>]*>n\/a/);
    expect(html).toContain('06:00 CET to 08:00 CET');
    expect(html).toContain('07:00 CET – 07:10 CET');
    expect(html).toContain(`action="/console/downtimes/${downtimeId}/reason?back=%2Fconsole%2Fmachines"`);
    expect(html).toContain('<optgroup label="Mechanical">');
  });

  it('a reason picked and saved (with the form token) is stored; without the token nothing changes', async () => {
    const a = agent();
    await a.signIn('mona', 'mona-password');
    const action = `/console/downtimes/${downtimeId}/reason?back=%2Fconsole%2Fmachines`;
    const fields = await a.formFields('/console/machines', action);
    const forged = await a.post(action, { reason_code: 'shortage' });
    expect(forged.status).toBe(403);
    const saved = await a.post(action, { ...fields, reason_code: 'jam' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/console/machines');
    const page = await (await a.get('/console/machines')).text();
    expect(page).toContain('Reason saved.');
    expect(page).toContain('Mechanical / Jam');
    const admin = (await gw.login('admin')).token;
    expect((await body<{ reason_code: string }>(await gw.req('GET', `/downtimes/${downtimeId}`, { token: admin }))).data.reason_code).toBe('jam');
  });

  it('a worker whose stages do not run on the machine gets no picker, and a forged post is refused by the API', async () => {
    const a = agent();
    await a.signIn('walt', 'walt-password');
    const html = await (await a.get('/console/machines')).text();
    expect(html).toContain('Mechanical / Jam');
    expect(html).not.toContain(`/console/downtimes/${downtimeId}/reason`);
    // The session's form token from another form: the API still refuses a worker off this machine.
    const { csrf } = await a.formFields('/console/machines', '/console/logout');
    const res = await a.post(`/console/downtimes/${downtimeId}/reason?back=%2Fconsole%2Fmachines`, { csrf: csrf ?? '', reason_code: 'shortage' });
    expect(res.status).toBe(303);
    expect(await (await a.get('/console/machines')).text()).toContain('none of your stages ran on this machine');
    const admin = (await gw.login('admin')).token;
    expect((await body<{ reason_code: string }>(await gw.req('GET', `/downtimes/${downtimeId}`, { token: admin }))).data.reason_code).toBe('jam');
  });

  it("My work lists the downtime of the machine the worker's started stage runs on, with a picker only where the stage ran then", async () => {
    const admin = (await gw.login('admin')).token;
    const walt = (
      await body<{ access_token: string; user: { id: number } }>(await gw.req('POST', '/auth/login', { body: { username: 'walt', password: 'walt-password' } }))
    ).data;
    const machineId = (await body<Array<{ id: number }>>(await gw.req('GET', '/machines', { token: admin }))).data[0]?.id;
    const wo = await gw.req('POST', '/workorders', {
      token: admin,
      body: {
        product_code: 'P-1',
        lot_no: 'L-1',
        qty: 5,
        planned_start: '2026-11-26T05:00:00Z',
        planned_end: '2026-11-26T13:00:00Z',
        stages: [{ stage_name: 'press' }],
      },
    });
    const stageId = (await body<{ stages: Array<{ id: number }> }>(wo)).data.stages[0]?.id;
    await gw.req('PUT', `/stages/${stageId}/machine`, { token: admin, body: { machine_id: machineId } });
    await gw.req('POST', `/stages/${stageId}/assignments`, { token: admin, body: { user_id: walt.user.id } });
    expect((await gw.req('POST', `/stages/${stageId}/start`, { token: walt.access_token, body: {} })).status).toBe(200);
    const a = agent();
    await a.signIn('walt', 'walt-password');
    const html = await (await a.get('/console/work')).text();
    // The downtime (07:00–07:10 CET) is listed, but walt's stage started after it: no picker (the API would refuse).
    expect(html).toContain('press-9');
    expect(html).toContain('07:00 CET – 07:10 CET');
    expect(html).not.toContain(`/console/downtimes/${downtimeId}/reason`);
    // A stop while walt's stage runs: the picker is there.
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'down' } });
    gw.clock.set(Z('07:05'));
    await gw.req('PATCH', `/machines/${machineId}`, { token: admin, body: { status: 'running' } });
    reconcileAllDowntimes(gw.ctx);
    const later = (await body<Array<{ id: number }>>(await gw.req('GET', '/downtimes', { token: admin }))).data[0]?.id;
    expect(later).not.toBe(downtimeId);
    const now = await (await a.get('/console/work')).text();
    expect(now).toContain(`action="/console/downtimes/${later}/reason?back=%2Fconsole%2Fwork"`);
  });
});
