import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Sqlite from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningGateway, makeGateway, rowCount } from '../helpers/app.ts';
import { clearRetained, recorder, type TestBroker, tcpProxy, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { loginOverHttp, until } from '../helpers/server.ts';
import type { Logger } from '../../src/logger.ts';
import { startMqtt } from '../../src/mqtt-publisher/service.ts';
import { PRUNE_SYNCED_READINGS } from '../../sync/retention.ts';

/**
 * A broker behind a proxy the test takes down, and a gateway that publishes to it while it is down:
 * logged in, with one machine, and the publisher's /drivers/status entry at hand.
 */
function brokerBehindProxy(label: string, gatewayYaml = '') {
  const fx = {} as { broker: TestBroker; proxy: Awaited<ReturnType<typeof tcpProxy>> };
  const dir = mkdtempSync(path.join(tmpdir(), `gw-mqtt-${label}-`));
  const prefix = uniqueId(label);
  beforeAll(async () => {
    fx.broker = await testBroker();
    fx.proxy = await tcpProxy(fx.broker.url);
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), gatewayYaml);
  });
  afterAll(async () => {
    await clearRetained(fx.broker.url, `${prefix}/1/gateway/status`);
    await fx.proxy.close();
    await fx.broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (logger?: Logger) => {
    await fx.proxy.down();
    const password = `${label}-admin-pw-1`;
    const { gw, base } = await listeningGateway(
      dir,
      {
        MQTT_URL: fx.proxy.url,
        MQTT_TOPIC_PREFIX: prefix,
        MQTT_CLIENT_ID: uniqueId('gw'),
        ADMIN_PASSWORD: password,
      },
      undefined,
      logger,
    );
    const auth = { authorization: `Bearer ${await loginOverHttp(base, 'admin', password)}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/machines`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `${label}-m`, machine_type: 'x' }) });
    const machineId = ((await created.json()) as { data: { id: number } }).data.id;
    const postReadings = (n: number) =>
      fetch(`${base}/machines/${machineId}/readings`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ reading_type: 'count', value: i }))),
      });
    const status = async () =>
      (
        (await (await fetch(`${base}/drivers/status`, { headers: auth })).json()) as {
          data: Array<{ device: string; queue_depth: number; dropped: number; skipped: number }>;
        }
      ).data.find((d) => d.device === 'mqtt-publisher');
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    return { gw, postReadings, status, metrics };
  };
  return { fx, prefix, start };
}

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
    const { fx, prefix, start } = brokerBehindProxy('cap', 'mqtt:\n  queue_max: 100\n');

    it('drops the oldest first, counts every drop, and sends the newest when the broker returns', async () => {
      const { gw, postReadings, status, metrics } = await start();
      try {
        expect((await postReadings(250)).status).toBe(201);
        // 1 machine event + 250 readings queued; the cap keeps the newest 100.
        await until(async () => (await status())?.dropped === 151);
        expect((await status())?.queue_depth).toBe(100);
        const text = await metrics();
        expect(text).toMatch(/^gateway_mqtt_dropped_total 151$/m);
        expect(text).toMatch(/^gateway_mqtt_queue_depth 100$/m);
        expect(text).toMatch(/^gateway_mqtt_connected 0$/m);

        const sub = await recorder(fx.broker.url, `${prefix}/#`);
        await fx.proxy.up();
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
    const { fx, prefix, start } = brokerBehindProxy('pruned');

    it('skips a queued reading whose row retention deleted, and counts it', async () => {
      const { gw, postReadings, status, metrics } = await start();
      try {
        expect((await postReadings(5)).status).toBe(201);
        // The broker stays away past retention: housekeeping's statement deletes the readings (sync is off).
        expect(gw.ctx.store.sqlite.prepare(PRUNE_SYNCED_READINGS).run(Date.now() + 1, 1000).changes).toBe(5);
        expect(await status()).toMatchObject({ skipped: 0 });

        const sub = await recorder(fx.broker.url, `${prefix}/1/events/#`);
        await fx.proxy.up();
        await until(async () => (await status())?.queue_depth === 0);
        expect(await status()).toMatchObject({ skipped: 5, queue_depth: 0 });
        expect(await metrics()).toMatch(/^gateway_mqtt_skipped_total 5$/m);
        // The machine's event, still there, was sent.
        await until(() => sub.messages.length === 1);
        await sub.close();
      } finally {
        await gw.stop();
      }
    });
  });

  describe('acknowledged rows that cannot be deleted at once', () => {
    const { fx, prefix, start } = brokerBehindProxy('acklock');

    it('deletes them once the database takes writes again, and sends none of them twice', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const { gw, postReadings, status } = await start(pino({ level: 'warn' }, sink));
      const other = new Sqlite(gw.ctx.config.databasePath);
      try {
        expect((await postReadings(50)).status).toBe(201);
        // Another connection holds the write lock (a stuck tool, a full disk fails alike): the
        // PUBACKed rows cannot be deleted while it does.
        other.prepare('BEGIN IMMEDIATE').run();
        const sub = await recorder(fx.broker.url, `${prefix}/#`);
        await fx.proxy.up();
        const counts = () => sub.messages.filter((x) => x.topic.endsWith('/count'));
        await until(() => counts().length >= 50);
        await until(() => lines.some((l) => l.includes('mqtt queue delete failed')));
        expect((await status())?.queue_depth).toBe(51);
        other.prepare('ROLLBACK').run();
        await until(async () => (await status())?.queue_depth === 0);
        const values = counts().map((x) => (JSON.parse(x.payload) as { value: number }).value);
        expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        await sub.close();
      } finally {
        if (other.inTransaction) other.prepare('ROLLBACK').run();
        other.close();
        await gw.stop();
      }
    });
  });
});
