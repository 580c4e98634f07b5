import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';

/** A broker for a test file: Mosquitto (or TEST_MQTT_URL) when one answers, else an in-process aedes. */
export interface TestBroker {
  url: string;
  kind: 'external' | 'aedes';
  close(): Promise<void>;
}

function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

/** An in-process aedes on a loopback port; close() stops it (its sessions are lost, like a broker restart without persistence). */
export async function startAedes(port = 0): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const bound = await listen(server, port);
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    kind: 'aedes',
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => broker.close(() => resolve()));
      }),
  };
}

/**
 * TEST_MQTT_URL, else Mosquitto on 127.0.0.1:1883 when it answers, else aedes.
 * TEST_MQTT_BROKER=aedes forces the in-process broker (to check the suites pass on a bare machine).
 */
export async function testBroker(): Promise<TestBroker> {
  if (process.env.TEST_MQTT_BROKER === 'aedes') return startAedes();
  const url = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  const u = new URL(url);
  if (await answers(u.hostname, Number(u.port || 1883))) return { url, kind: 'external', close: async () => {} };
  return startAedes();
}

/**
 * A TCP proxy in front of a broker that the test can take down and bring back on the same port:
 * "the broker is unreachable" without stopping a shared Mosquitto.
 */
export async function tcpProxy(target: string) {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const open = () =>
    createServer((inbound) => {
      const outbound = netConnect({ host: t.hostname, port: Number(t.port || 1883) });
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
  server = open();
  const port = await listen(server);
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    down,
    up: async () => {
      server = open();
      await listen(server, port);
    },
    close: down,
  };
}

let clients = 0;

/** A unique id per test client and topic prefix: the shared Mosquitto serves other runs too. */
export function uniqueId(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${++clients}`;
}

/** A subscriber that records every message of a topic filter. */
export async function recorder(url: string, filter: string) {
  const client: MqttClient = await connectAsync(url, { clientId: uniqueId('rec'), clean: true, protocolVersion: 4, reconnectPeriod: 200 });
  const messages: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages, close: () => client.endAsync() };
}

/** Removes a retained message (the shared Mosquitto would otherwise keep it after the test). */
export async function clearRetained(url: string, topic: string): Promise<void> {
  const client = await connectAsync(url, { clientId: uniqueId('clr'), clean: true, protocolVersion: 4, reconnectPeriod: 0 });
  await client.publishAsync(topic, '', { qos: 1, retain: true });
  await client.endAsync();
}
