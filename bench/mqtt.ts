// MQTT publishing: readings/s from the SQLite queue to a local broker with QoS 1, beside a bare
// mqtt.js client publishing the same payloads in the same run (the ceiling), and the drain rate
// of a 100,000-message backlog. Broker: BENCH_MQTT_URL, else Mosquitto on 127.0.0.1:1883 when it
// answers, else (or with BENCH_MQTT_BROKER=aedes) an in-process aedes, which then shares the CPU.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/db/store.ts';
import { silentLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { setOutboxQueueing } from '../src/mqtt-publisher/outbox.ts';
import { createMqttPublisher } from '../src/mqtt-publisher/publisher.ts';
import { createReadingsWriter, type ReadingInput } from '../src/modules/readings/writer.ts';
import { pct, printTable } from './lib.ts';

const LIVE = Number(process.env.BENCH_MQTT_MESSAGES ?? 50_000);
const BACKLOG = Number(process.env.BENCH_MQTT_BACKLOG ?? 100_000);

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

export async function localBroker(): Promise<{ url: string; name: string; close: () => Promise<void> }> {
  if (process.env.BENCH_MQTT_URL) return { url: process.env.BENCH_MQTT_URL, name: process.env.BENCH_MQTT_URL, close: async () => {} };
  if (process.env.BENCH_MQTT_BROKER !== 'aedes' && (await answers(1883)))
    return { url: 'mqtt://127.0.0.1:1883', name: 'Mosquitto on 127.0.0.1:1883', close: async () => {} };
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `mqtt://127.0.0.1:${port}`, name: 'in-process aedes', close: () => new Promise((r) => server.close(() => broker.close(() => r()))) };
}

const tag = `bench-${process.pid}-${Date.now().toString(36)}`;

/** The ceiling: one bare client, QoS 1, every message in flight at once. */
async function bareClient(url: string, payloads: Array<{ topic: string; payload: string }>): Promise<number> {
  const client = await connectAsync(url, { clientId: `${tag}-bare`, clean: true, protocolVersion: 4 });
  const t0 = performance.now();
  await Promise.all(payloads.map((p) => client.publishAsync(p.topic, p.payload, { qos: 1 })));
  const secs = (performance.now() - t0) / 1000;
  await client.endAsync();
  return payloads.length / secs;
}

function gatewayStore() {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-bench-'));
  const store = openStore(path.join(dir, 'b.db'), 9);
  store.sqlite
    .prepare("INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (1, 'press-1', 't', 'running', 'modbus', 0, 0)")
    .run();
  setOutboxQueueing(store.sqlite, true);
  const writer = createReadingsWriter(
    { store, logger: silentLogger(), metrics: createMetrics(false), now: Date.now },
    { flushIntervalMs: 100, flushMaxRows: 5000 },
  );
  return { dir, store, writer };
}

function publisher(url: string, sqlite: ReturnType<typeof openStore>['sqlite']) {
  const cfg = loadConfig({ MQTT_URL: url, MQTT_CLIENT_ID: `${tag}-gw`, MQTT_TOPIC_PREFIX: tag, SITE_ID: '9' }, tmpdir());
  if (!cfg.mqtt) throw new Error('MQTT config missing');
  // Rate limit off (1,000,000/s): this measures what the publisher can do, not the configured cap.
  return createMqttPublisher({ sqlite, logger: silentLogger(), siteId: 9 }, cfg.mqtt, { ...cfg.settings.mqtt, drain_rate_per_s: 1_000_000, inflight: 1000 });
}

async function untilPublished(p: ReturnType<typeof publisher>, n: number): Promise<void> {
  while (p.status().published < n) await new Promise((r) => setTimeout(r, 5));
}

const readings = (n: number, from: number): ReadingInput[] =>
  Array.from({ length: n }, (_, i) => ({
    machineId: 1,
    readingType: `r${(from + i) % 50}`,
    value: from + i,
    unit: 'C',
    quality: 'good',
    reason: null,
    sourceTs: Date.now(),
  }));

export async function benchMqtt(): Promise<void> {
  const broker = await localBroker();
  try {
    const payloads = Array.from({ length: LIVE }, (_, i) => ({
      topic: `${tag}/9/machines/press-1/r${i % 50}`,
      payload: JSON.stringify({
        id: 9 * 2 ** 40 + i,
        machine_id: 1,
        reading_type: `r${i % 50}`,
        value: i,
        unit: 'C',
        quality: 'good',
        timestamp: new Date().toISOString(),
      }),
    }));
    const ceiling = await bareClient(broker.url, payloads);

    // Live: readings pushed through the batch writer while the publisher sends them.
    const live = gatewayStore();
    const p1 = publisher(broker.url, live.store.sqlite);
    p1.start();
    while (!p1.status().connected) await new Promise((r) => setTimeout(r, 5));
    live.writer.start();
    const t0 = performance.now();
    for (let i = 0; i < LIVE; i += 1000) {
      live.writer.push(readings(1000, i), 'bench');
      await new Promise((r) => setImmediate(r));
    }
    await untilPublished(p1, LIVE);
    const liveRate = LIVE / ((performance.now() - t0) / 1000);
    live.writer.stop();
    await p1.stop();
    live.store.close();
    rmSync(live.dir, { recursive: true, force: true });

    // Backlog: rows queued while no broker was there, then drained.
    const backlog = gatewayStore();
    for (let i = 0; i < BACKLOG; i += 5000) backlog.writer.push(readings(5000, i), 'bench');
    backlog.writer.flush();
    const p2 = publisher(broker.url, backlog.store.sqlite);
    const t1 = performance.now();
    p2.start();
    await untilPublished(p2, BACKLOG);
    const drainRate = BACKLOG / ((performance.now() - t1) / 1000);
    await p2.stop(); // flushes the last batch of PUBACKed deletes
    const left = backlog.store.sqlite.prepare('SELECT count(*) FROM mqtt_outbox').pluck().get() as number;
    backlog.store.close();
    rmSync(backlog.dir, { recursive: true, force: true });

    printTable(`MQTT publishing, QoS 1, broker: ${broker.name} (target: gateway ≥ 50% of the bare client)`, [
      { run: `bare mqtt.js client, ${LIVE.toLocaleString('en-US')} messages all in flight (ceiling)`, 'msg/s': ceiling, 'of ceiling': '100%' },
      { run: `gateway: readings written, queued by trigger, published (in-flight window 1,000)`, 'msg/s': liveRate, 'of ceiling': pct(liveRate, ceiling) },
      {
        run: `gateway: drain of a ${BACKLOG.toLocaleString('en-US')}-message backlog (rate limit off)`,
        'msg/s': drainRate,
        'of ceiling': pct(drainRate, ceiling),
      },
    ]);
    process.stdout.write(
      `ratio gateway/bare: ${(liveRate / ceiling).toFixed(2)}; backlog left after drain: ${left}; configured drain_rate_per_s default 5,000\n`,
    );
  } finally {
    await broker.close();
  }
}
