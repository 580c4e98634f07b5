import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningGateway, makeGateway, rowCount } from '../helpers/app.ts';
import { clearRetained, recorder, type TestBroker, tcpProxy, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { loginOverHttp, until } from '../helpers/server.ts';
import { startMqtt } from '../../src/mqtt/service.ts';
import { PRUNE_SYNCED_READINGS } from '../../sync/retention.ts';

describe('MQTT store-and-forward queue', () => {
  it('stays empty when MQTT is not configured', async () => {
    const gw = makeGateway();
    try {
      const stop = await startMqtt(gw.ctx);
      const { token } = await gw.login('admin');
      const res = await gw.req('POST', '/machines', { token, body: { name: 'm1', machine_type: 'lathe' } });
      const id = ((await res.json()) as { data: { id: number } }).data.id;
      expect((await gw.req('POST', `/machines/${id}/readings`, { token, body: { reading_type: 't', value: 1 } })).status).toBe(201);
      expect(rowCount(gw.ctx, 'events')).toBe(1);
      expect(rowCount(gw.ctx, 'machine_readings')).toBe(1);
      expect(rowCount(gw.ctx, 'mqtt_outbox')).toBe(0);
      await stop.stop();
    } finally {
      gw.close();
    }
  });

  describe('over its cap', () => {
    let broker: TestBroker;
    let proxy: Awaited<ReturnType<typeof tcpProxy>>;
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-cap-'));
    const prefix = uniqueId('cap');

    beforeAll(async () => {
      broker = await testBroker();
      proxy = await tcpProxy(broker.url);
      mkdirSync(path.join(dir, 'config'));
      writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'mqtt:\n  queue_max: 100\n');
    });
    afterAll(async () => {
      await clearRetained(broker.url, `${prefix}/1/gateway/status`);
      await proxy.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('drops the oldest first, counts every drop, and sends the newest when the broker returns', async () => {
      await proxy.down();
      const { gw, base } = await listeningGateway(dir, {
        MQTT_URL: proxy.url,
        MQTT_TOPIC_PREFIX: prefix,
        MQTT_CLIENT_ID: uniqueId('gw'),
        ADMIN_PASSWORD: 'cap-admin-pw-12',
      });
      try {
        const token = await loginOverHttp(base, 'admin', 'cap-admin-pw-12');
        const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const m = (await (
          await fetch(`${base}/machines`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'cap-m', machine_type: 'x' }) })
        ).json()) as {
          data: { id: number };
        };
        const batch = Array.from({ length: 250 }, (_, i) => ({ reading_type: 'count', value: i }));
        const posted = await fetch(`${base}/machines/${m.data.id}/readings`, { method: 'POST', headers: auth, body: JSON.stringify(batch) });
        expect(posted.status).toBe(201);
        // 1 machine event + 250 readings queued; the cap keeps the newest 100.
        const status = async () =>
          (
            (await (await fetch(`${base}/drivers/status`, { headers: auth })).json()) as {
              data: Array<{ device: string; queue_depth: number; dropped: number }>;
            }
          ).data.find((d) => d.device === 'mqtt-publisher');
        await until(async () => (await status())?.dropped === 151);
        expect((await status())?.queue_depth).toBe(100);
        const metrics = await (await fetch(`${base}/metrics`)).text();
        expect(metrics).toMatch(/^gateway_mqtt_dropped_total 151$/m);
        expect(metrics).toMatch(/^gateway_mqtt_queue_depth 100$/m);
        expect(metrics).toMatch(/^gateway_mqtt_connected 0$/m);

        const sub = await recorder(broker.url, `${prefix}/#`);
        await proxy.up();
        await until(() => sub.messages.filter((x) => x.topic.endsWith('/count')).length >= 100);
        await until(async () => (await status())?.queue_depth === 0);
        const values = sub.messages.filter((x) => x.topic.endsWith('/count')).map((x) => (JSON.parse(x.payload) as { value: number }).value);
        expect([...new Set(values)]).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
        await sub.close();
      } finally {
        await gw.stop();
      }
    });
  });

  describe('rows pruned while queued', () => {
    let broker: TestBroker;
    let proxy: Awaited<ReturnType<typeof tcpProxy>>;
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-pruned-'));
    const prefix = uniqueId('pruned');

    beforeAll(async () => {
      broker = await testBroker();
      proxy = await tcpProxy(broker.url);
      mkdirSync(path.join(dir, 'config'));
    });
    afterAll(async () => {
      await clearRetained(broker.url, `${prefix}/1/gateway/status`);
      await proxy.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('skips a queued reading whose row retention deleted, and counts it', async () => {
      await proxy.down();
      const { gw, base } = await listeningGateway(dir, {
        MQTT_URL: proxy.url,
        MQTT_TOPIC_PREFIX: prefix,
        MQTT_CLIENT_ID: uniqueId('gw'),
        ADMIN_PASSWORD: 'pruned-admin-pw-1',
      });
      try {
        const token = await loginOverHttp(base, 'admin', 'pruned-admin-pw-1');
        const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const m = (await (
          await fetch(`${base}/machines`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'pruned-m', machine_type: 'x' }) })
        ).json()) as { data: { id: number } };
        const batch = Array.from({ length: 5 }, (_, i) => ({ reading_type: 'count', value: i }));
        expect((await fetch(`${base}/machines/${m.data.id}/readings`, { method: 'POST', headers: auth, body: JSON.stringify(batch) })).status).toBe(201);
        // The broker stays away past retention: housekeeping's statement deletes the readings (sync is off).
        expect(gw.ctx.store.sqlite.prepare(PRUNE_SYNCED_READINGS).run(Date.now() + 1, 1000).changes).toBe(5);
        const status = async () =>
          (
            (await (await fetch(`${base}/drivers/status`, { headers: auth })).json()) as {
              data: Array<{ device: string; queue_depth: number; skipped: number }>;
            }
          ).data.find((d) => d.device === 'mqtt-publisher');
        expect(await status()).toMatchObject({ skipped: 0 });

        const sub = await recorder(broker.url, `${prefix}/1/events/#`);
        await proxy.up();
        await until(async () => (await status())?.queue_depth === 0);
        expect(await status()).toMatchObject({ skipped: 5, queue_depth: 0 });
        expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^gateway_mqtt_skipped_total 5$/m);
        // The machine's event, still there, was sent.
        await until(() => sub.messages.length === 1);
        await sub.close();
      } finally {
        await gw.stop();
      }
    });
  });
});
