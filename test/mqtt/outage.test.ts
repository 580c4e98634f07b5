import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningGateway } from '../helpers/app.ts';
import { clearRetained, recorder, type TestBroker, tcpProxy, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { loginOverHttp, until } from '../helpers/server.ts';

type Gateway = Awaited<ReturnType<typeof listeningGateway>>;
interface DeviceStatus {
  device: string;
  connected: boolean;
  queue_depth?: number;
  dropped?: number;
}

describe('MQTT publishing through a broker outage and a gateway restart', () => {
  let broker: TestBroker;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-outage-'));
  const prefix = uniqueId('outage');
  const env = () => ({ MQTT_URL: proxy.url, MQTT_TOPIC_PREFIX: prefix, MQTT_CLIENT_ID: uniqueId('gw'), SITE_ID: '3', ADMIN_PASSWORD: 'outage-admin-pw-1' });

  beforeAll(async () => {
    broker = await testBroker();
    proxy = await tcpProxy(broker.url);
  });
  afterAll(async () => {
    await clearRetained(broker.url, `${prefix}/3/gateway/status`);
    await proxy.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (g: Gateway, token: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${g.base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: unknown }).data;
  };
  const publisherStatus = async (g: Gateway, token: string) =>
    ((await call(g, token, 'GET', '/drivers/status')) as DeviceStatus[]).find((d) => d.device === 'mqtt-publisher');
  const post = async (g: Gateway, token: string, machineId: number, from: number, n: number) => {
    const batch = Array.from({ length: n }, (_, i) => ({ reading_type: i % 2 ? 'temp' : 'pressure', value: from + i, unit: 'x' }));
    await call(g, token, 'POST', `/machines/${machineId}/readings`, batch);
  };

  it('delivers every reading and event at least once, each id once after de-duplication, in order per topic', async () => {
    const sub = await recorder(broker.url, `${prefix}/#`);
    let g = await listeningGateway(dir, env());
    let token = await loginOverHttp(g.base, 'admin', 'outage-admin-pw-1');
    const statusTopic = `${prefix}/3/gateway/status`;
    await until(() => sub.messages.some((m) => m.topic === statusTopic && m.payload === 'online'));

    // Live: a machine whose name needs sanitising, readings and machine events.
    const machine = (await call(g, token, 'POST', '/machines', { name: 'press+1/#a', machine_type: 'press' })) as { id: number };
    await post(g, token, machine.id, 0, 10);
    await until(() => sub.messages.filter((m) => m.topic.includes('/machines/')).length >= 10);
    expect(new Set(sub.messages.filter((m) => m.topic.includes('/machines/')).map((m) => m.topic))).toEqual(
      new Set([`${prefix}/3/machines/press_1__a/pressure`, `${prefix}/3/machines/press_1__a/temp`]),
    );

    // The broker becomes unreachable: the last will says offline; writes go on.
    await proxy.down();
    await until(() => sub.messages.some((m) => m.topic === statusTopic && m.payload === 'offline'));
    await until(async () => (await publisherStatus(g, token))?.connected === false);
    for (let i = 0; i < 3; i++) await post(g, token, machine.id, 100 + i * 50, 50);
    await call(g, token, 'PATCH', `/machines/${machine.id}`, { status: 'down' });

    // Restart during the outage: the queue is in SQLite, nothing is lost.
    await g.gw.stop();
    g = await listeningGateway(dir, env());
    token = await loginOverHttp(g.base, 'admin', 'outage-admin-pw-1');
    await post(g, token, machine.id, 500, 50);
    await call(g, token, 'PATCH', `/machines/${machine.id}`, { status: 'running' });
    const queued = await publisherStatus(g, token);
    expect(queued?.connected).toBe(false);
    expect(queued?.queue_depth).toBeGreaterThanOrEqual(202);

    // Broker back: the backlog drains.
    await proxy.up();
    const db = g.gw.ctx.store.sqlite;
    const readingIds = (db.prepare('SELECT id FROM machine_readings ORDER BY id').pluck().all() as number[]).map(Number);
    const eventIds = (db.prepare("SELECT id FROM events WHERE entity_type = 'machine' ORDER BY id").pluck().all() as number[]).map(Number);
    expect(readingIds).toHaveLength(210);
    expect(eventIds).toHaveLength(3);
    const ids = (topicPart: string) => sub.messages.filter((m) => m.topic.includes(topicPart)).map((m) => (JSON.parse(m.payload) as { id: number }).id);
    await until(() => new Set(ids('/machines/')).size === readingIds.length && new Set(ids('/events/machine')).size === eventIds.length, 30_000);
    await until(async () => (await publisherStatus(g, token))?.queue_depth === 0);

    expect([...new Set(ids('/machines/'))].sort((a, b) => a - b)).toEqual(readingIds);
    expect([...new Set(ids('/events/machine'))].sort((a, b) => a - b)).toEqual(eventIds);
    // In order per topic: the first delivery of each id comes in id (= commit) order.
    const topics = new Set(sub.messages.map((m) => m.topic).filter((t) => t !== statusTopic));
    for (const topic of topics) {
      const firstSeen = [...new Set(sub.messages.filter((m) => m.topic === topic).map((m) => (JSON.parse(m.payload) as { id: number }).id))];
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    }
    const reading = sub.messages.find((m) => m.topic.endsWith('/temp'));
    expect(JSON.parse(reading?.payload ?? '{}')).toEqual({
      id: expect.any(Number),
      machine_id: machine.id,
      reading_type: 'temp',
      value: 1,
      unit: 'x',
      quality: 'good',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const event = sub.messages.find((m) => m.topic === `${prefix}/3/events/machine` && m.payload.includes('"to_status":"down"'));
    expect(JSON.parse(event?.payload ?? '{}')).toMatchObject({ entity_type: 'machine', entity_id: machine.id, from_status: 'offline', to_status: 'down' });

    // A clean stop says offline (retained) rather than leaving it to the last will.
    await until(() => sub.messages.filter((m) => m.topic === statusTopic && m.payload === 'online').length >= 2);
    const before = sub.messages.length;
    await g.gw.stop();
    await until(() => sub.messages.slice(before).some((m) => m.topic === statusTopic && m.payload === 'offline'));
    await sub.close();
  });
});
