import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { DriverLogger, Sample } from '../../drivers/engine/types.ts';
import { mqttDeviceSchema } from '../../drivers/mqtt/config.ts';
import { createMqttIngestDriver } from '../../drivers/mqtt/driver.ts';
import { uniqueId } from '../helpers/mqtt-broker.ts';
import { until } from '../helpers/server.ts';
import { holdingBroker } from './holding-broker.ts';

function quietLogger(): DriverLogger {
  const noop = () => {};
  const logger: DriverLogger = { info: noop, warn: noop, error: noop, debug: noop, child: () => logger };
  return logger;
}

describe('MQTT ingest driver: a subscription in flight when the connection drops', () => {
  it('subscribes again on the next connection and receives what was published meanwhile', async () => {
    const broker = await holdingBroker();
    const prefix = uniqueId('ingest-drop');
    const clientId = uniqueId('drv');
    const device = mqttDeviceSchema.parse({
      name: 'uns',
      protocol: 'mqtt',
      url: broker.url,
      client_id: clientId,
      reconnect: { initial_ms: 50, max_ms: 200 },
      subscriptions: [{ topic: `${prefix}/+/temp`, machine: { segment: 1 }, reading_type: 'temperature', value_path: 'v' }],
    });
    const values: Array<number | null> = [];
    const driver = createMqttIngestDriver(device, {
      pkiDir: '',
      logger: quietLogger(),
      sink: (_device, samples: Sample[]) => {
        for (const s of samples) if (s.target) values.push(typeof s.value === 'number' ? s.value : null);
        return undefined;
      },
    });
    const machine = await connectAsync(broker.url, { clientId: uniqueId('machine'), clean: true, protocolVersion: 4 });
    try {
      // The broker never grants the first SUBSCRIBE; the connection drops while it waits.
      broker.hold(clientId);
      driver.start();
      await until(() => broker.held() > 0);
      broker.cut(clientId);
      await until(() => driver.status().connected);
      await machine.publishAsync(`${prefix}/press-1/temp`, JSON.stringify({ v: 1 }), { qos: 1 });
      await until(() => values.length === 1);
      // Cut off, not refused: /drivers/status must not say the broker refused the subscription
      // (the drop itself may show, as 'broker: read ECONNRESET').
      expect(driver.status().last_error ?? '').not.toMatch(/refused/);

      // A drop with the subscription in place: the broker keeps the session, and a QoS 1 message
      // published while the driver is away arrives after it reconnects.
      broker.cut(clientId);
      await machine.publishAsync(`${prefix}/press-1/temp`, JSON.stringify({ v: 2 }), { qos: 1 });
      await until(() => values.includes(2));
      // QoS 1: a message whose PUBACK the drop cut off may come twice; none is missing.
      expect([...new Set(values)]).toEqual([1, 2]);
      // The session's queued message can arrive before the driver has noted the CONNACK.
      await until(() => driver.status().connected);
      expect(driver.status()).toMatchObject({ connected: true, tags_bad: 0 });
    } finally {
      await machine.endAsync();
      await driver.stop();
      await broker.close();
    }
  });
});
