import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PublisherOptions } from '../../src/mqtt-publisher/publisher.ts';
import { startMqtt } from '../../src/mqtt-publisher/service.ts';
import { makeGateway, type TestGateway } from '../helpers/app.ts';
import { recorder, uniqueId } from '../helpers/mqtt-broker.ts';
import { until } from '../helpers/server.ts';
import { type HoldingBroker, holdingBroker } from './holding-broker.ts';

describe('MQTT publisher: messages in flight when the connection drops', () => {
  let broker: HoldingBroker;
  let gw: TestGateway | undefined;
  let stopMqtt: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    broker = await holdingBroker();
  });
  afterEach(async () => {
    await stopMqtt?.();
    gw?.close();
    stopMqtt = undefined;
    gw = undefined;
  });
  afterAll(() => broker.close());

  /** A gateway publishing to the broker with at most `inflight` unacknowledged messages, and a subscriber to its readings. */
  const start = async (inflight: number, opts: PublisherOptions = {}) => {
    const prefix = uniqueId('inflight');
    const clientId = uniqueId('gw');
    gw = makeGateway(
      { MQTT_URL: broker.url, MQTT_CLIENT_ID: clientId, MQTT_TOPIC_PREFIX: prefix },
      undefined,
      `mqtt:\n  inflight: ${inflight}\n  reconnect_initial_ms: 50\n  reconnect_max_ms: 200\n`,
    );
    const g = gw;
    const sub = await recorder(broker.url, `${prefix}/#`);
    const mqtt = await startMqtt(g.ctx, { pollMs: 20, ...opts });
    stopMqtt = async () => {
      await mqtt.stop();
      await sub.close();
    };
    const publisher = mqtt.publisher;
    if (!publisher) throw new Error('MQTT_URL is set: the publisher must start');
    await until(() => sub.messages.some((m) => m.topic.endsWith('/gateway/status') && m.payload === 'online'));
    const { token } = await g.login('admin');
    const created = await g.req('POST', '/machines', { token, body: { name: 'press-1', machine_type: 'press' } });
    const machineId = ((await created.json()) as { data: { id: number } }).data.id;
    let next = 0;
    /** Stores n readings in one request; their values are the next n integers. */
    const post = async (n: number) => {
      const values = Array.from({ length: n }, () => next++);
      const res = await g.req('POST', `/machines/${machineId}/readings`, { token, body: values.map((value) => ({ reading_type: 'count', value })) });
      expect(res.status).toBe(201);
      return values;
    };
    /** Values of every reading delivered to the subscriber, duplicates included. */
    const delivered = () => sub.messages.filter((m) => m.topic.includes('/machines/')).map((m) => (JSON.parse(m.payload) as { value: number }).value);
    const depth = () => publisher.status().queueDepth;
    return { clientId, post, delivered, depth };
  };

  it('sends them again on the next connection, without a restart, and each only once', async () => {
    const { clientId, post, delivered, depth } = await start(50);
    const before = await post(5);
    await until(() => delivered().length === 5 && depth() === 0);

    // The broker takes the next readings and answers none; then the connection drops.
    broker.hold(clientId);
    const inflight = await post(30);
    await until(() => broker.held() > 0);
    broker.cut(clientId);

    await until(() => new Set(delivered()).size === 35 && depth() === 0);
    // Sent oldest first: once a newer reading arrives, a second copy of any of the 30 would have come before it.
    const after = await post(1);
    await until(() => delivered().includes(after[0] ?? -1));
    // Acknowledged before the drop: not sent again. In flight: sent once on the new connection.
    expect(delivered().sort((a, b) => a - b)).toEqual([...before, ...inflight, ...after]);
  });

  it('does not send again a message acknowledged before the drop whose row is not deleted yet', async () => {
    // Acknowledged rows wait a minute for their batched delete, so the drop comes before it.
    const { clientId, post, delivered } = await start(50, { ackFlushMs: 60_000 });
    const first = await post(1);
    await until(() => delivered().length === 1);
    // The first of the next ten is never acknowledged; the nine after it are: PUBACKs out of order.
    const heldValue = first.length; // post() numbers the readings 0, 1, 2, …
    broker.hold(clientId, (packet) => (JSON.parse(packet.payload.toString()) as { value: number }).value === heldValue);
    const batch = await post(10);
    await until(() => broker.held() === 1 && delivered().length === 10);
    broker.cut(clientId);

    // Sent oldest first: once a newer reading arrives, any re-send of the nine would have come before it.
    const last = await post(1);
    await until(() => delivered().includes(heldValue) && delivered().includes(last[0] ?? -1));
    expect(delivered().sort((a, b) => a - b)).toEqual([...first, ...batch, ...last]);
  });

  it('keeps publishing after repeated drops with every in-flight slot taken', async () => {
    const { clientId, post, delivered, depth } = await start(5);
    const sent: number[] = [];
    for (let drop = 0; drop < 4; drop++) {
      broker.hold(clientId);
      sent.push(...(await post(5))); // fills the window of 5
      await until(() => broker.held() > 0);
      broker.cut(clientId);
      await until(() => new Set(delivered()).size === sent.length && depth() === 0);
    }
    // A slot lost per stranded message would have stopped publishing after the first drop.
    sent.push(...(await post(20)));
    await until(() => new Set(delivered()).size === sent.length && depth() === 0);
    expect([...new Set(delivered())].sort((a, b) => a - b)).toEqual(sent);
  });
});
