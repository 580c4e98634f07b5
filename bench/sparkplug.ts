// Sparkplug B DDATA publishing: the edge node fed 10,000 changing values/s (10 machines × 100
// reading types) through the readings writer and its SQLite queue, beside a bare mqtt.js client
// publishing the very same protobuf DDATA payloads (recorded off the broker) in the same run.
// Broker as in bench/mqtt.ts: BENCH_MQTT_URL, else Mosquitto on 127.0.0.1:1883, else aedes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/db/store.ts';
import { silentLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createReadingsWriter, type ReadingInput } from '../src/modules/readings/writer.ts';
import { createEdgeNode } from '../src/sparkplug/edge-node.ts';
import { DURATION_S, pct, printTable } from './lib.ts';
import { localBroker } from './mqtt.ts';

const RATE = Number(process.env.BENCH_SPARKPLUG_RATE ?? 10_000);
const MACHINES = 10;
const TYPES = 100;
const tag = `bench-sp-${process.pid}-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Same messages, QoS 1, all in flight at once: what the broker and mqtt.js can take. */
async function bareClient(url: string, messages: Array<{ topic: string; payload: Buffer }>): Promise<number> {
  const client = await connectAsync(url, { clientId: `${tag}-bare`, clean: true, protocolVersion: 4 });
  const t0 = performance.now();
  await Promise.all(messages.map((m) => client.publishAsync(m.topic, m.payload, { qos: 1 })));
  const secs = (performance.now() - t0) / 1000;
  await client.endAsync();
  return messages.length / secs;
}

/** n changing values spread over every machine and reading type, from value `from` on. */
const readings = (n: number, from: number): ReadingInput[] =>
  Array.from({ length: n }, (_, k) => ({
    machineId: 1 + ((from + k) % MACHINES),
    readingType: `r${Math.floor((from + k) / MACHINES) % TYPES}`,
    value: from + k,
    unit: null,
    quality: 'good',
    reason: null,
    sourceTs: Date.now(),
  }));

export async function benchSparkplug(): Promise<void> {
  const broker = await localBroker();
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sp-bench-'));
  const store = openStore(path.join(dir, 'b.db'), 9);
  try {
    const insert = store.sqlite.prepare(
      "INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (?, ?, 't', 'running', 'modbus', 0, 0)",
    );
    for (let m = 1; m <= MACHINES; m++) insert.run(m, `press-${m}`);
    const writer = createReadingsWriter(
      { store, logger: silentLogger(), metrics: createMetrics(false), now: Date.now },
      { flushIntervalMs: 100, flushMaxRows: 5000 },
    );
    const cfg = loadConfig({ MQTT_URL: broker.url, MQTT_CLIENT_ID: `${tag}-gw`, MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: tag, SITE_ID: '9' }, tmpdir());
    if (!cfg.mqtt || !cfg.sparkplug) throw new Error('Sparkplug config missing');

    // Every DDATA the edge node publishes, as the broker delivers it: the bare client's payloads.
    const recorded: Array<{ topic: string; payload: Buffer }> = [];
    const sub = await connectAsync(broker.url, { clientId: `${tag}-rec`, clean: true, protocolVersion: 4 });
    sub.on('message', (topic, payload) => {
      if (topic.includes('/DDATA/')) recorded.push({ topic, payload });
    });
    await sub.subscribeAsync(`spBv1.0/${tag}/DDATA/#`, { qos: 1 });

    const edgeNode = () => {
      if (!cfg.mqtt || !cfg.sparkplug) throw new Error('Sparkplug config missing');
      return createEdgeNode({ sqlite: store.sqlite, logger: silentLogger(), syncBacklog: () => 0 }, cfg.mqtt, cfg.sparkplug, cfg.settings.mqtt, { pollMs: 20 });
    };
    const node = edgeNode();
    node.start();
    writer.start();
    while (!node.status().born) await sleep(5);
    const bornPublished = node.status().published;

    // 10,000 changing values/s, every 10 ms a slice, each value a new one.
    const total = RATE * DURATION_S;
    const perTick = RATE / 100;
    const t0 = performance.now();
    for (let i = 0; i < total; i += perTick) {
      writer.push(readings(perTick, i), 'bench');
      const due = t0 + ((i + perTick) / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const fedS = (performance.now() - t0) / 1000;
    writer.flush();
    while (node.status().queueDepth > 0) await sleep(5);
    const doneS = (performance.now() - t0) / 1000;
    const s = node.status();
    // Births (and rebirth DBIRTHs for new reading types) are not DDATA.
    while (recorded.length === 0) await sleep(5);
    await sleep(200);
    const ddata = recorded.length;
    const values = total;
    await node.stop();

    // The same number of values queued while the edge node was away, then drained as fast as it can.
    for (let i = 0; i < total; i += 5000) writer.push(readings(Math.min(5000, total - i), i), 'bench');
    writer.flush();
    writer.stop();
    const drained = recorded.length;
    const again = edgeNode();
    const t1 = performance.now();
    again.start();
    while (again.status().queueDepth !== 0 || !again.status().born) await sleep(5);
    const drainS = (performance.now() - t1) / 1000;
    await sleep(200);
    const drainMessages = recorded.length - drained;
    await again.stop();
    await sub.endAsync();

    const bareMsgS = await bareClient(broker.url, recorded.slice(0, ddata));
    const nodeMsgS = ddata / doneS;
    const valuesPerMsg = values / Math.max(1, ddata);
    printTable(`Sparkplug B DDATA, QoS 1, ${RATE.toLocaleString('en-US')} changing values/s for ${DURATION_S} s, broker: ${broker.name}`, [
      {
        run: 'bare mqtt.js client, the same DDATA payloads all in flight (ceiling)',
        'DDATA/s': bareMsgS,
        'values/s': bareMsgS * valuesPerMsg,
        'of ceiling': '100%',
      },
      {
        run: 'edge node: readings written, queued by trigger, DDATA by alias until the queue is empty',
        'DDATA/s': nodeMsgS,
        'values/s': values / doneS,
        'of ceiling': pct(nodeMsgS, bareMsgS),
      },
      {
        run: `edge node: drain of ${total.toLocaleString('en-US')} values queued while away (births first, is_historical)`,
        'DDATA/s': drainMessages / drainS,
        'values/s': total / drainS,
        'of ceiling': pct(total / drainS, bareMsgS * valuesPerMsg),
      },
    ]);
    process.stdout.write(
      `values fed in ${fedS.toFixed(2)} s, all acknowledged after ${doneS.toFixed(2)} s; ${ddata} DDATA (${valuesPerMsg.toFixed(1)} values each), ` +
        `${s.published - bornPublished} messages after the births; the edge node's rate is bounded by the offered 10,000 values/s, the bare client's is not\n`,
    );
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    await broker.close();
  }
}
