import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriverLogger, Sample, SinkRefusal } from '../../drivers/engine/types.ts';
import { mqttDeviceSchema } from '../../drivers/mqtt/config.ts';
import { createMqttIngestDriver } from '../../drivers/mqtt/driver.ts';
import { type TestBroker, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { until } from '../helpers/server.ts';

// The driver behind the protocol seam: samples name their machine, the gateway (here a fake sink)
// resolves it and refuses a batch with an unknown machine whole.

function capturingLogger(lines: Array<{ level: string; obj: object; msg: string | undefined }>): DriverLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void =>
      void lines.push({ level, obj, msg });
  const logger: DriverLogger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger };
  return logger;
}

describe('MQTT ingest driver', () => {
  let broker: TestBroker;
  let pub: MqttClient;
  const prefix = uniqueId('drv');
  const lines: Array<{ level: string; obj: object; msg: string | undefined }> = [];
  const batches: Sample[][] = [];
  const rejected: string[] = [];
  let driver: ReturnType<typeof createMqttIngestDriver>;

  beforeAll(async () => {
    broker = await testBroker();
    const device = mqttDeviceSchema.parse({
      name: 'uns',
      protocol: 'mqtt',
      client_id: uniqueId('drv-gw'),
      log_interval_s: 3600,
      subscriptions: [
        { topic: `${prefix}/+/temp`, machine: { segment: 1 }, reading_type: 'temperature', value_path: 'v', unit: '°C' },
        { topic: `${prefix}/+/temp`, machine: { segment: 1 }, reading_type: 'setpoint', value_path: 'sp' },
      ],
    });
    driver = createMqttIngestDriver(device, {
      broker: { url: broker.url, clientId: 'unused' },
      pkiDir: '',
      logger: capturingLogger(lines),
      sink: (_device, samples): SinkRefusal | undefined => {
        // The gateway's database failing to take a message (a full disk).
        if (samples.some((s) => s.target?.machine === 'full')) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        const unknown = samples.find((s) => s.target && s.target.machine !== 'press-1');
        if (unknown) return { reason: 'unknown_machine', detail: `no machine named '${unknown.target?.machine}'` };
        // Subscription states (uncertain once granted, bad when disconnected) name no machine: status only.
        if (samples.some((s) => s.target)) batches.push(samples);
        return undefined;
      },
      onRejected: (reason) => void rejected.push(reason),
    });
    driver.start();
    await until(() => driver.status().connected);
    pub = await connectAsync(broker.url, { clientId: uniqueId('machine'), clean: true, protocolVersion: 4 });
  });
  afterAll(async () => {
    await pub?.endAsync();
    await driver?.stop();
    await broker.close();
  });

  it('hands one message to the gateway as one batch naming its machine, reading types and unit', async () => {
    expect(driver.status()).toMatchObject({ protocol: 'mqtt', connected: true, tags_total: 2, tags_uncertain: 2, tags_bad: 0 });
    await pub.publishAsync(`${prefix}/press-1/temp`, JSON.stringify({ v: 21.5, sp: 22 }), { qos: 1 });
    await until(() => batches.length === 1);
    expect(batches[0]?.map((s) => ({ value: s.value, quality: s.quality, target: s.target }))).toEqual([
      { value: 21.5, quality: 'good', target: { machine: 'press-1', readingType: 'temperature', unit: '°C' } },
      { value: 22, quality: 'good', target: { machine: 'press-1', readingType: 'setpoint', unit: null } },
    ]);
    expect(driver.status()).toMatchObject({ tags_good: 2, last_error: null, last_success_at: expect.any(Number) });
  });

  it('logs a bad payload once per topic per interval, counts every one, and shows a refused machine as last_error', async () => {
    for (let i = 0; i < 3; i++) await pub.publishAsync(`${prefix}/press-1/temp`, 'not json', { qos: 1 });
    await pub.publishAsync(`${prefix}/press-2/temp`, 'not json', { qos: 1 });
    for (let i = 0; i < 2; i++) await pub.publishAsync(`${prefix}/ghost/temp`, JSON.stringify({ v: 1, sp: 2 }), { qos: 1 });
    const dropped = () => lines.filter((l) => l.msg === 'mqtt payload dropped');
    await until(() => rejected.length === 4 && dropped().length === 3);
    // Refused by the gateway (unknown machine): counted there, not again by the driver.
    expect(rejected).toEqual(['malformed_json', 'malformed_json', 'malformed_json', 'malformed_json']);
    expect(dropped().map((l) => (l.obj as { topic: string; reason: string }).reason)).toEqual(['malformed_json', 'malformed_json', 'unknown_machine']);
    await pub.publishAsync(`${prefix}/press-1/temp`, JSON.stringify({ v: 23, sp: 22 }), { qos: 1 });
    await until(() => batches.length === 2);
    expect(dropped()).toHaveLength(3);
    expect(driver.status()).toMatchObject({ connected: true, last_error: "unknown_machine: no machine named 'ghost'" });
  });

  it('counts a message the gateway could not store as not_stored and shows why, without taking it for stored', async () => {
    const before = rejected.length;
    await pub.publishAsync(`${prefix}/full/temp`, JSON.stringify({ v: 1, sp: 2 }), { qos: 1 });
    await until(() => rejected.length === before + 1);
    expect(rejected.at(-1)).toBe('not_stored');
    expect(lines.some((l) => l.msg === 'sample sink failed')).toBe(true);
    expect(driver.status()).toMatchObject({ last_error: 'not_stored: database or disk is full' });
  });
});
