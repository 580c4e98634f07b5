import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceConfigError, parseDevices } from '../drivers/config.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { body, listeningGateway, makeGateway, T0, type TestGateway, iso } from './helpers/app.ts';
import { createWorkOrder } from './helpers/floor.ts';
import { testBroker, uniqueId } from './helpers/mqtt-broker.ts';
import { until } from './helpers/server.ts';
import { ConsoleAgent } from './console-helpers.ts';

// Machines page live from the readings writer, the one-hour chart, picking a worker to assign,
// and MQTT status on the system page.

let gw: TestGateway;
let planner: string;
beforeEach(async () => {
  gw = makeGateway();
  planner = (await gw.login('planner')).token;
});
afterEach(() => gw.close());

async function machine(name: string): Promise<number> {
  return (await body<{ id: number }>(await gw.req('POST', '/machines', { token: planner, body: { name, machine_type: 'press' } }))).data.id;
}
async function post(machineId: number, readings: unknown) {
  expect((await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: readings })).status).toBe(201);
}
async function signedIn(role: 'worker' | 'planner' | 'manager' | 'admin') {
  const user = await gw.login(role);
  const agent = new ConsoleAgent(gw);
  await agent.signIn(user.username, user.password);
  return agent;
}

/** Reads a console SSE stream until a `readings` message arrives; returns its data. */
async function nextReadings(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended');
    text += new TextDecoder().decode(value);
    const m = /event: readings\ndata: (.*)\n\n/.exec(text);
    if (m) return m[1] ?? '';
  }
}

describe('machines page, live from the readings writer', () => {
  it('streams the stored value rows to open pages, each page only its machines', async () => {
    const press = await machine('press-1');
    const lathe = await machine('lathe-1');
    const agent = await signedIn('worker');
    const all = (await agent.get('/console/events?machines=all')).body?.getReader();
    const onlyLathe = (await agent.get(`/console/events?machines=${lathe}`)).body?.getReader();
    if (!all || !onlyLathe) throw new Error('no stream');
    await post(press, [
      { reading_type: 'temperature', value: 20.5, unit: 'C' },
      { reading_type: 'temperature', value: 73.25, unit: 'C' },
    ]);
    const row = await nextReadings(all);
    expect(row).toContain(`data-row-machine="${press}"`);
    expect(row).toContain('73.25 C');
    expect(row).not.toContain('20.5');
    await post(lathe, { reading_type: 'rpm', value: 0, unit: 'rpm', quality: 'bad' });
    const latheRow = await nextReadings(onlyLathe);
    expect(latheRow).toContain(`data-row-machine="${lathe}"`);
    expect(latheRow).toContain('q-bad');
    expect(latheRow).not.toContain(`data-row-machine="${press}"`);
    await all.cancel();
    await onlyLathe.cancel();
  });

  it('draws the last hour as an accessible SVG chart with bad readings and gaps visible, and a table of the same data', async () => {
    const press = await machine('press-1');
    // 08:00 is now: a value each minute from 07:05 to 07:50, the one at 07:30 bad; nothing before or after.
    await post(press, [
      ...Array.from({ length: 46 }, (_, i) => ({
        reading_type: 'temperature',
        value: i === 45 ? 30 : 20 + (i % 10),
        unit: 'C',
        quality: i === 25 ? 'bad' : 'good',
        timestamp: iso(T0 - (55 - i) * 60_000),
      })),
      { reading_type: 'pressure', value: 2, unit: 'bar' },
    ]);
    const agent = await signedIn('worker');
    const list = await (await agent.get('/console/machines')).text();
    expect(list).toContain(`href="/console/machines/${press}?type=temperature"`);
    const page = await (await agent.get(`/console/machines/${press}?type=temperature`)).text();
    expect(page).toMatch(/<svg[^>]*role="img"/);
    expect(page).toContain('Min 20, max 30, last 30 C at 07:50 UTC.');
    expect(page).toContain('1 bad reading (red marks).');
    expect(page).toContain('No data 07:00–07:05 UTC (grey).');
    expect(page).toContain('No data 07:51–08:00 UTC (grey).');
    expect((page.match(/class="bad"/g) ?? []).length).toBe(1);
    expect(page).toContain('<th scope="row">07:30 UTC</th>');
    expect(page).toContain('data-live="/console/events?machines=');
    // The fragment the page re-fetches when a reading of its type arrives.
    await post(press, { reading_type: 'temperature', value: 99, unit: 'C' });
    const chart = await (await agent.get(`/console/machines/${press}/chart?type=temperature`)).text();
    expect(chart).toContain('max 99, last 99 C at 08:00 UTC');
    expect(chart).not.toContain('<html');
    expect((await agent.get(`/console/machines/${press}/chart?type=nope`)).status).toBe(404);
    expect((await agent.get('/console/machines/424242')).status).toBe(404);
  });
});

describe('reading types as the device config describes them', () => {
  const devices = (tag: Record<string, unknown>) => ({
    machines: [{ name: 'fan-1', machine_type: 'fan' }],
    devices: [
      {
        name: 'fan-plc',
        protocol: 'modbus-tcp',
        machine: 'fan-1',
        host: '127.0.0.1',
        port: 5020,
        tags: [{ name: 'speed', reading_type: 'fan_speed', unit: 'rpm', area: 'holding', address: 0, data_type: 'uint16', ...tag }],
      },
    ],
  });

  it('names each reading type by its tag (display name, else the reading type made readable) with its unit, and shades no data by the tag’s period', async () => {
    const fan = await machine('fan-1');
    gw.ctx.readingTypes.load(parseDevices(devices({ poll_interval_ms: 150_000 })), new Map([['fan-1', fan]]));
    // Both types every 2.5 minutes for the last hour: fan_speed is configured so, `airflow` is not.
    const every150s = (type: string) =>
      Array.from({ length: 24 }, (_, i) => ({ reading_type: type, value: 1400 + i, unit: 'rpm', timestamp: iso(T0 - 3600_000 + 60_000 + i * 150_000) }));
    await post(fan, [...every150s('fan_speed'), ...every150s('airflow')]);
    const agent = await signedIn('worker');
    const list = await (await agent.get('/console/machines')).text();
    expect(list).toContain('>Fan speed, rpm</a>');
    expect(list).toContain('>Airflow, rpm</a>');
    // A tag read every 2.5 minutes turns stale after twice that (5 minutes), not after the default 2.
    expect(list).toMatch(/data-reading="fan_speed"[\s\S]*?data-stale-ms="300000"/);
    const speed = await (await agent.get(`/console/machines/${fan}?type=fan_speed`)).text();
    expect(speed).toContain('<title id="chart-');
    expect(speed).toContain('fan-1: Fan speed, rpm · last hour');
    expect(speed).not.toContain('class="gap"');
    expect(speed).not.toContain('No data');
    const airflow = await (await agent.get(`/console/machines/${fan}?type=airflow`)).text();
    expect(airflow).toContain('class="gap"');
    expect(airflow).toContain('No data');

    // A display name from the config wins over the reading type.
    gw.ctx.readingTypes.load(parseDevices(devices({ display_name: 'Exhaust fan' })), new Map([['fan-1', fan]]));
    expect(await (await agent.get('/console/machines')).text()).toContain('>Exhaust fan, rpm</a>');
  });

  it('refuses an empty or overlong display name in the devices file, naming the tag', () => {
    for (const bad of ['', '   ', 'x'.repeat(65), 42]) {
      expect(() => parseDevices(devices({ display_name: bad }))).toThrow(DeviceConfigError);
      expect(() => parseDevices(devices({ display_name: bad }))).toThrow(/tag 'speed': display_name/);
    }
  });
});

describe('board: a planner assigns by picking a worker', () => {
  it('offers the active workers by name and assigns the one picked', async () => {
    const wo = await createWorkOrder(gw, planner, { planned_start: iso(T0 - 3600_000), planned_end: iso(T0 + 3600_000), stages: [{ stage_name: 'cutting' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    const admin = await gw.login('admin');
    const wanda = await gw.login('worker', 'wanda');
    const gone = await gw.login('worker', 'gone');
    await gw.req('PATCH', `/auth/users/${gone.id}`, { token: admin.token, body: { active: false } });
    const agent = await signedIn('planner');
    const board = await (await agent.get('/console/board')).text();
    const select = /<select id="assign-\d+" name="user_id"[^>]*>(.*?)<\/select>/.exec(board)?.[1] ?? '';
    expect(select).toContain(`<option value="${wanda.id}">wanda</option>`);
    expect(select).not.toContain('gone');
    expect(board).not.toMatch(/<input id="assign-/);
    const fields = await agent.formFields('/console/board', `/console/assign/${stageId}`);
    await agent.post(`/console/assign/${stageId}`, { ...fields, user_id: String(wanda.id) });
    const after = await (await agent.get('/console/board')).text();
    expect(after).toContain('Worker assigned.');
    expect(after).toContain('Assigned: wanda');
    const stage = await body<{ assigned_user_ids: number[] }>(await gw.req('GET', `/stages?assigned_to=${wanda.id}`, { token: planner }));
    expect(stage.data).toHaveLength(1);
  });
});

describe('system page: MQTT status', () => {
  it('has no MQTT section when MQTT is not configured', async () => {
    const page = await (await signedIn('manager').then((a) => a.get('/console/system'))).text();
    expect(page).toContain('HQ sync');
    expect(page).not.toContain('data-mqtt');
  });

  it('shows the publisher connected with its queue, beside sync', async () => {
    const broker = await testBroker();
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-console-mqtt-'));
    const g = await listeningGateway(dir, { MQTT_URL: broker.url, MQTT_TOPIC_PREFIX: uniqueId('console'), MQTT_CLIENT_ID: uniqueId('gw') });
    try {
      await createUser(g.gw.ctx, { username: 'mona', password: 'mona-password', role: 'manager' });
      const login = await fetch(`${g.base}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'mona', password: 'mona-password' }).toString(),
        redirect: 'manual',
      });
      const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
      const system = () => fetch(`${g.base}/console/system`, { headers: { cookie } }).then((r) => r.text());
      await until(async () => (await system()).includes('<span class="status running">connected</span>'));
      const page = await system();
      expect(page).toMatch(/<section class="card" data-mqtt="true"><h2>MQTT<\/h2>/);
      expect(page).toMatch(/data-mqtt-queue="true">\d+</);
      expect(page).toContain('data-mqtt-dropped="true">0<');
      expect(page).toContain('HQ sync');
      // The publisher is shown once, in its own section, not again among the field drivers.
      expect(page.match(/mqtt-publisher/g)).toBeNull();
    } finally {
      await g.gw.stop();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('machine cards', () => {
  it('show a machine’s location, and no empty part for one registered without (the API’s null)', async () => {
    const located = await gw.req('POST', '/machines', { token: planner, body: { name: 'lathe-1', machine_type: 'lathe', location: 'Hall 2' } });
    expect(located.status).toBe(201);
    await machine('press-1');
    const page = await (await (await signedIn('worker')).get('/console/machines')).text();
    const card = (name: string) => new RegExp(`aria-label="${name}"[\\s\\S]*?<p class="muted">([\\s\\S]*?)<span`).exec(page)?.[1] ?? '';
    expect(card('lathe-1')).toMatch(/lathe · Hall 2 · Last seen/);
    expect(card('press-1')).toMatch(/press · Last seen/);
    expect(card('press-1')).not.toContain('·  ·');
  });
});
