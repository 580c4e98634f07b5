import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningGateway } from '../helpers/app.ts';
import { clearRetained, recorder, type TestBroker, testBroker, uniqueId } from '../helpers/mqtt-broker.ts';
import { loginOverHttp, until } from '../helpers/server.ts';

describe('MQTT retained last values', () => {
  let broker: TestBroker;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-retain-'));
  const prefix = uniqueId('retain');
  const topic = `${prefix}/1/machines/oven/temp`;

  beforeAll(async () => {
    broker = await testBroker();
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'mqtt:\n  retain_last_values: true\n');
  });
  afterAll(async () => {
    await clearRetained(broker.url, topic);
    await clearRetained(broker.url, `${prefix}/1/gateway/status`);
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives a subscriber that arrives later the last value of each reading topic', async () => {
    const { gw, base } = await listeningGateway(dir, {
      MQTT_URL: broker.url,
      MQTT_TOPIC_PREFIX: prefix,
      MQTT_CLIENT_ID: uniqueId('gw'),
      ADMIN_PASSWORD: 'retain-admin-pw1',
    });
    try {
      const token = await loginOverHttp(base, 'admin', 'retain-admin-pw1');
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const m = (await (await fetch(`${base}/machines`, { method: 'POST', headers, body: JSON.stringify({ name: 'oven', machine_type: 'oven' }) })).json()) as {
        data: { id: number };
      };
      const watcher = await recorder(broker.url, topic);
      await fetch(`${base}/machines/${m.data.id}/readings`, {
        method: 'POST',
        headers,
        body: JSON.stringify([1, 2, 3].map((value) => ({ reading_type: 'temp', value }))),
      });
      await until(() => watcher.messages.length === 3);
      await watcher.close();

      const late = await recorder(broker.url, topic);
      await until(() => late.messages.length >= 1);
      expect(late.messages[0]).toMatchObject({ retain: true });
      expect(JSON.parse(late.messages[0]?.payload ?? '{}')).toMatchObject({ reading_type: 'temp', value: 3 });
      await late.close();
    } finally {
      await gw.stop();
    }
  });
});
