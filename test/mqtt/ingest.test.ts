import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listeningGateway } from '../helpers/app.ts';
import { type TestBroker, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { freePort, loginOverHttp, until } from '../helpers/server.ts';
import { ModbusSim } from '../sim/modbus-sim.ts';

// MQTT ingest is a protocol of the protocol list (drivers/protocols.ts): one devices file holds a Modbus PLC and an
// MQTT device, and the gateway starts both the same way.
describe('MQTT ingest: machines publish readings', () => {
  let broker: TestBroker;
  let sim: ModbusSim;
  let gw: Awaited<ReturnType<typeof listeningGateway>>['gw'];
  let base: string;
  let token: string;
  let pub: MqttClient;
  let machineId: number;
  let press2: number;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-ingest-'));
  const prefix = uniqueId('ingest');

  const get = async <T>(url: string): Promise<T> =>
    ((await (await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: T }).data;
  const rejected = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Object.fromEntries(
      [...text.matchAll(/^gateway_mqtt_ingest_rejected_total\{device="plant",reason="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
  };
  type Reading = { reading_type: string; value: number; unit: string | null; timestamp: string };
  const readingsOf = (id: number) => get<Reading[]>(`/machines/${id}/readings?limit=100`);
  const readings = () => readingsOf(machineId);
  const status = () => get<Array<{ device: string; protocol: string; connected: boolean; last_error: string | null; tags_total: number }>>('/drivers/status');

  beforeAll(async () => {
    broker = await testBroker();
    sim = new ModbusSim(await freePort());
    sim.holding[10] = 1234;
    await sim.start();
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'devices_file: devices.yaml\n');
    writeFileSync(
      path.join(dir, 'config', 'devices.yaml'),
      stringify({
        machines: [
          { name: 'press-1', machine_type: 'press' },
          { name: 'lathe-1', machine_type: 'lathe' },
        ],
        devices: [
          {
            name: 'lathe-plc',
            protocol: 'modbus-tcp',
            host: '127.0.0.1',
            port: sim.port,
            machine: 'lathe-1',
            poll_interval_ms: 100,
            tags: [{ name: 'spindle', reading_type: 'spindle_rpm', area: 'holding', address: 10 }],
          },
          {
            name: 'plant',
            protocol: 'mqtt',
            url: broker.url,
            client_id: uniqueId('ingest-gw'),
            max_payload_bytes: 65536,
            subscriptions: [
              { topic: `${prefix}/plc/+/temp`, machine: { segment: 2 }, reading_type: 'temperature', value_path: 'v', timestamp_path: 'ts', unit: '°C' },
              { topic: `${prefix}/json`, machine: { field: 'machine' }, reading_type: { field: 'type' }, value_path: 'data.value' },
              // One message, two machines: stored whole or not at all.
              { topic: `${prefix}/pair`, machine: { field: 'first' }, reading_type: 'pair_a', value_path: 'v' },
              { topic: `${prefix}/pair`, machine: { field: 'second' }, reading_type: 'pair_b', value_path: 'v' },
            ],
          },
        ],
      }),
    );
    ({ gw, base } = await listeningGateway(dir, { ADMIN_PASSWORD: 'ingest-admin-pw-1' }));
    token = await loginOverHttp(base, 'admin', 'ingest-admin-pw-1');
    const machines = await get<Array<{ id: number; name: string }>>('/machines');
    machineId = machines.find((m) => m.name === 'press-1')?.id ?? 0;
    // A machine created after start-up is found by name too.
    const res = await fetch(`${base}/machines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'press-2', machine_type: 'press' }),
    });
    press2 = ((await res.json()) as { data: { id: number } }).data.id;
    pub = await connectAsync(broker.url, { clientId: uniqueId('machine'), clean: true, protocolVersion: 4 });
    await until(async () => (await status()).some((d) => d.device === 'plant' && d.connected));
  });
  afterAll(async () => {
    await pub?.endAsync();
    await gw?.stop();
    await sim?.stop();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the Modbus and the MQTT device of one devices file through the protocol list', async () => {
    await until(async () => (await status()).every((d) => d.connected));
    expect((await status()).map(({ device, protocol, connected }) => ({ device, protocol, connected }))).toEqual([
      { device: 'lathe-plc', protocol: 'modbus-tcp', connected: true },
      { device: 'plant', protocol: 'mqtt', connected: true },
    ]);
    const machines = await get<Array<{ name: string; source: string; latest: Record<string, { value: number }> }>>('/machines');
    await until(async () => (await get<typeof machines>('/machines')).find((m) => m.name === 'lathe-1')?.latest.spindle_rpm?.value === 1234);
    expect(machines.find((m) => m.name === 'lathe-1')?.source).toBe('modbus');
  });

  it('stores good payloads as readings with the mapped machine, type, unit and timestamp', async () => {
    await pub.publishAsync(`${prefix}/plc/press-1/temp`, JSON.stringify({ v: 21.5, ts: '2026-11-29T10:00:00Z' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/json`, JSON.stringify({ machine: 'press-1', type: 'rpm', data: { value: 1200 } }), { qos: 1 });
    await pub.publishAsync(`${prefix}/json`, JSON.stringify({ machine: 'press-2', type: 'rpm', data: { value: 900 } }), { qos: 1 });
    await until(async () => (await readings()).length === 2 && (await readingsOf(press2)).length === 1);
    const rows = await readings();
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reading_type: 'temperature', value: 21.5, unit: '°C', timestamp: '2026-11-29T10:00:00.000Z' }),
        expect.objectContaining({ reading_type: 'rpm', value: 1200, unit: null }),
      ]),
    );
    expect(await readingsOf(press2)).toEqual([expect.objectContaining({ reading_type: 'rpm', value: 900 })]);
    const plant = (await status()).find((d) => d.device === 'plant');
    expect(plant).toMatchObject({ connected: true, tags_total: 4, last_error: null });
  });

  it('drops and counts malformed JSON, wrong types, unknown machines and 1 MB payloads, and keeps going', async () => {
    const t = `${prefix}/plc/press-1/temp`;
    await pub.publishAsync(t, 'not json {', { qos: 1 });
    await pub.publishAsync(t, JSON.stringify({ v: 'hot' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/json`, JSON.stringify({ machine: 'press-1', type: 7, data: { value: 1 } }), { qos: 1 });
    await pub.publishAsync(`${prefix}/plc/ghost/temp`, JSON.stringify({ v: 1, ts: Date.now() }), { qos: 1 });
    await pub.publishAsync(t, JSON.stringify({ v: 1, ts: '2026-11-29T10:00:00Z', pad: 'x'.repeat(1024 * 1024) }), { qos: 1 });
    await pub.publishAsync(t, JSON.stringify({ v: 1, ts: 'yesterday' }), { qos: 1 });
    await pub.publishAsync(t, JSON.stringify({ ts: '2026-11-29T10:00:00Z' }), { qos: 1 });
    // A good message after the bad ones still arrives: nothing crashed.
    await pub.publishAsync(t, JSON.stringify({ v: 22, ts: 1795989600000 }), { qos: 1 });
    await until(async () => (await readings()).length === 3);
    await until(async () => Object.values(await rejected()).reduce((a, b) => a + b, 0) === 7);
    expect(await rejected()).toEqual({ malformed_json: 1, wrong_type: 2, unknown_machine: 1, too_large: 1, bad_timestamp: 1, missing_field: 1 });
    const rows = await readings();
    expect(rows.map((r) => r.value).sort((a, b) => a - b)).toEqual([21.5, 22, 1200]);
    expect((await status()).find((d) => d.device === 'plant')).toMatchObject({ connected: true, last_error: expect.stringMatching(/^missing_field/) });
  });

  it('stores nothing of a message that names an unknown machine, even beside a known one', async () => {
    await pub.publishAsync(`${prefix}/pair`, JSON.stringify({ first: 'press-1', second: 'ghost', v: 5 }), { qos: 1 });
    await pub.publishAsync(`${prefix}/pair`, JSON.stringify({ first: 'press-1', second: 'press-2', v: 6 }), { qos: 1 });
    await until(async () => (await readingsOf(press2)).some((r) => r.reading_type === 'pair_b'));
    expect((await readings()).filter((r) => r.reading_type === 'pair_a').map((r) => r.value)).toEqual([6]);
    expect((await rejected()).unknown_machine).toBe(2);
    expect((await status()).find((d) => d.device === 'plant')).toMatchObject({ last_error: "unknown_machine: no machine named 'ghost'" });
  });
});
