import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceStatus } from '../drivers/engine/types.ts';
import { body, makeGateway, T0, type TestGateway } from './helpers/app.ts';

const device = (name: string, protocol: string): DeviceStatus => ({
  device: name,
  protocol,
  connected: true,
  last_poll_at: T0,
  last_success_at: T0,
  last_error: null,
  last_error_at: null,
  poll_duration_ms: 4,
  tags_total: 2,
  tags_good: 2,
  tags_bad: 0,
  tags_uncertain: 0,
});

let gw: TestGateway;
afterEach(() => gw.close());

describe('GET /drivers/status', () => {
  it('says of each entry whether it is a field device or a publisher of the gateway, and the drivers stopping leaves the publishers', async () => {
    gw = makeGateway();
    const admin = await gw.login('admin');
    const board = gw.ctx.statusBoard;
    board.addDevice(() => device('press-plc', 'modbus-tcp'));
    board.addPublisher(() => ({ ...device('mqtt-publisher', 'mqtt'), tags_total: 0, tags_good: 0, queue_depth: 3, dropped: 0, skipped: 0 }));
    const list = async () => (await body<Array<Record<string, unknown>>>(await gw.req('GET', '/drivers/status', { token: admin.token }))).data;
    expect((await list()).map((d) => [d.device, d.kind])).toEqual([
      ['press-plc', 'device'],
      ['mqtt-publisher', 'publisher'],
    ]);
    expect((await list())[1]).toMatchObject({ queue_depth: 3, last_success_at: new Date(T0).toISOString() });
    board.clearDevices();
    expect((await list()).map((d) => d.device)).toEqual(['mqtt-publisher']);
  });

  it('the System page gives a publisher a card of its own, titled by what it is, and does not list it among the devices', async () => {
    gw = makeGateway();
    gw.ctx.statusBoard.addPublisher(() => ({
      ...device('sparkplug-edge-node', 'sparkplug'),
      tags_total: 0,
      tags_good: 0,
      queue_depth: 7,
      dropped: 0,
      skipped: 0,
    }));
    const admin = await gw.login('admin');
    const login = await gw.app.request('/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: admin.username, password: admin.password }).toString(),
    });
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    const html = await (await gw.app.request('/console/system', { headers: { cookie } })).text();
    expect(html).toMatch(/<section class="card" data-mqtt="true"><h2>Sparkplug B edge node<\/h2>/);
    expect(html).toContain('data-mqtt-queue="true">7<');
    expect(html).not.toContain('sparkplug-edge-node (sparkplug)');
    expect(html).toContain('No drivers are configured.');
  });
});
