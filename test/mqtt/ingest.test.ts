import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listeningGateway } from '../helpers/app.ts';
import { type TestBroker, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { loginOverHttp, until } from '../helpers/server.ts';

describe('MQTT ingest: machines publish readings', () => {
  let broker: TestBroker;
  let gw: Awaited<ReturnType<typeof listeningGateway>>['gw'];
  let base: string;
  let token: string;
  let pub: MqttClient;
  let machineId: number;
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
  const readings = () =>
    get<Array<{ reading_type: string; value: number; unit: string | null; timestamp: string }>>(`/machines/${machineId}/readings?limit=100`);

  beforeAll(async () => {
    broker = await testBroker();
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'mqtt:\n  ingest_file: mqtt-ingest.yaml\n');
    writeFileSync(
      path.join(dir, 'config', 'mqtt-ingest.yaml'),
      stringify({
        devices: [
          {
            name: 'plant',
            protocol: 'mqtt',
            url: broker.url,
            client_id: uniqueId('ingest-gw'),
            max_payload_bytes: 65536,
            subscriptions: [
              { topic: `${prefix}/plc/+/temp`, machine: { segment: 2 }, reading_type: 'temperature', value_path: 'v', timestamp_path: 'ts', unit: '°C' },
              { topic: `${prefix}/json`, machine: { field: 'machine' }, reading_type: { field: 'type' }, value_path: 'data.value' },
            ],
          },
        ],
      }),
    );
    ({ gw, base } = await listeningGateway(dir, { ADMIN_PASSWORD: 'ingest-admin-pw-1' }));
    token = await loginOverHttp(base, 'admin', 'ingest-admin-pw-1');
    const res = await fetch(`${base}/machines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'press-1', machine_type: 'press' }),
    });
    machineId = ((await res.json()) as { data: { id: number } }).data.id;
    pub = await connectAsync(broker.url, { clientId: uniqueId('machine'), clean: true, protocolVersion: 4 });
    await until(async () => (await get<Array<{ device: string; connected: boolean }>>('/drivers/status')).some((d) => d.device === 'plant' && d.connected));
  });
  afterAll(async () => {
    await pub?.endAsync();
    await gw?.stop();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores good payloads as readings with the mapped machine, type, unit and timestamp', async () => {
    await pub.publishAsync(`${prefix}/plc/press-1/temp`, JSON.stringify({ v: 21.5, ts: '2026-11-29T10:00:00Z' }), { qos: 1 });
    await pub.publishAsync(`${prefix}/json`, JSON.stringify({ machine: 'press-1', type: 'rpm', data: { value: 1200 } }), { qos: 1 });
    await until(async () => (await readings()).length === 2);
    const rows = await readings();
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reading_type: 'temperature', value: 21.5, unit: '°C', timestamp: '2026-11-29T10:00:00.000Z' }),
        expect.objectContaining({ reading_type: 'rpm', value: 1200, unit: null }),
      ]),
    );
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
    const status = (await get<Array<{ device: string; connected: boolean; last_error: string | null }>>('/drivers/status')).find((d) => d.device === 'plant');
    expect(status).toMatchObject({ connected: true, last_error: expect.stringMatching(/^missing_field/) });
  });
});
