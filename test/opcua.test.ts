import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDevices } from '../drivers/config.ts';
import type { Driver, Sample } from '../drivers/engine/types.ts';
import type { OpcuaDevice } from '../drivers/opcua/config.ts';
import { createOpcuaDriver } from '../drivers/opcua/driver.ts';
import { silentLogger } from '../src/logger.ts';
import { freePort, until } from './helpers/server.ts';
import { OpcuaSim } from './sim/opcua-sim.ts';
import { TcpProxy } from './sim/tcp-proxy.ts';

let sim: OpcuaSim;
let port: number;
let pki: string;
const drivers: Driver[] = [];

beforeAll(async () => {
  pki = mkdtempSync(path.join(tmpdir(), 'gw-pki-'));
  port = await freePort();
  sim = new OpcuaSim(port);
  await sim.start();
}, 60_000);
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.stop();
});
afterAll(async () => {
  await sim.stop();
  rmSync(pki, { recursive: true, force: true });
});

function device(extra: Record<string, unknown>, tags: Array<Record<string, unknown>>): OpcuaDevice {
  return parseDevices({
    machines: [{ name: 'oven', machine_type: 'oven' }],
    devices: [
      {
        name: 'oven-plc',
        protocol: 'opcua',
        machine: 'oven',
        endpoint: sim.endpoint,
        security_mode: 'None',
        security_policy: 'None',
        allow_insecure: true,
        poll_interval_ms: 100,
        publishing_interval_ms: 100,
        reconnect: { initial_ms: 200, max_ms: 1000 },
        tags,
        ...extra,
      },
    ],
  }).devices[0]?.config as OpcuaDevice;
}

function run(dev: OpcuaDevice) {
  const seen: Sample[] = [];
  const d = createOpcuaDriver(dev, { sink: (_d, s) => void seen.push(...s), logger: silentLogger(), pkiDir: pki });
  drivers.push(d);
  d.start();
  return { driver: d, seen, latest: (tag: string) => [...seen].reverse().find((s) => s.tag === tag) };
}

describe('OPC UA against a real node-opcua server', () => {
  it('subscribes by node id and by browse path, with scale, timestamps and status mapped to quality', async () => {
    sim.temperature = 21.5;
    sim.count = 7;
    const { latest } = run(
      device({}, [
        { name: 'temp', reading_type: 'temperature', node_id: 's=Temperature', namespace_uri: sim.namespaceUri },
        { name: 'count', reading_type: 'count', browse_path: '/Objects/Oven/Count', namespace_uri: sim.namespaceUri, scale: 10 },
        { name: 'health', reading_type: 'health', node_id: 'ns=1;s=Health' },
      ]),
    );
    await until(() => latest('temp')?.value === 21.5 && latest('count')?.value === 70 && latest('health')?.quality === 'good');
    expect(Math.abs((latest('temp')?.sourceTs ?? 0) - Date.now())).toBeLessThan(10_000);
    sim.temperature = 30;
    sim.healthBad = true;
    await until(() => latest('temp')?.value === 30 && latest('health')?.quality === 'bad');
    expect(latest('health')?.reason).toBe('BadSensorFailure');
    sim.healthBad = false;
  }, 30_000);

  it('applies the deadband in the subscription', async () => {
    sim.temperature = 50;
    const { seen, latest, driver } = run(device({}, [{ name: 'temp', reading_type: 'temperature', node_id: 'ns=1;s=Temperature', deadband: 5 }]));
    await until(() => latest('temp')?.value === 50);
    sim.temperature = 52;
    // The server has sampled 52, and published (a keep-alive or changes) after that.
    const sampled = sim.temperatureSamples;
    await until(() => sim.temperatureSamples > sampled + 1);
    const after = Date.now();
    await until(() => (driver.status().last_poll_at ?? 0) > after);
    sim.temperature = 60;
    await until(() => latest('temp')?.value === 60);
    // Notifications arrive in order: a change within the deadband would have come before 60.
    expect(seen.filter((s) => s.tag === 'temp').map((s) => s.value)).toEqual([50, 60]);
  }, 30_000);

  it('polls when configured to', async () => {
    sim.count = 3;
    const { latest, driver } = run(device({ mode: 'poll' }, [{ name: 'count', reading_type: 'count', node_id: 'ns=1;s=Count' }]));
    await until(() => latest('count')?.value === 3);
    sim.count = 4;
    await until(() => latest('count')?.value === 4);
    expect(driver.status().poll_duration_ms).not.toBeNull();
  }, 30_000);

  it('comes back by itself after the server restarts, with the subscription restored', async () => {
    sim.temperature = 10;
    const { latest, driver } = run(device({}, [{ name: 'temp', reading_type: 'temperature', browse_path: '/Objects/1:Oven/1:Temperature' }]));
    await until(() => latest('temp')?.value === 10);
    await sim.stop();
    await until(() => latest('temp')?.quality === 'bad' && !driver.status().connected);
    // Right away, not only once a reconnect attempt has failed.
    expect(driver.status().last_error).toMatch(/connection|keep-alive|subscription|read/);
    expect(driver.status().last_error_at).not.toBeNull();
    sim = new OpcuaSim(port);
    sim.temperature = 11;
    await sim.start();
    await until(() => latest('temp')?.value === 11 && latest('temp')?.quality === 'good', 30_000);
    expect(driver.status().connected).toBe(true);
  }, 60_000);

  it('takes only a tag whose browse path does not resolve bad, and resolves it again later', async () => {
    sim.temperature = 12;
    const { latest, driver } = run(
      device({}, [
        { name: 'temp', reading_type: 'temperature', browse_path: '/Objects/1:Oven/1:Temperature' },
        { name: 'ghost', reading_type: 'pressure', browse_path: '/Objects/1:Oven/1:Pressure' },
      ]),
    );
    await until(() => latest('temp')?.value === 12 && latest('ghost')?.quality === 'bad');
    expect(latest('ghost')?.reason).toMatch(/browse path \/Objects\/1:Oven\/1:Pressure not found \(BadNoMatch\)/);
    expect(driver.status()).toMatchObject({ connected: true, tags_good: 1, tags_bad: 1 });
    expect(driver.status().last_error).toMatch(/tag ghost: browse path/);
    sim.temperature = 13;
    await until(() => latest('temp')?.value === 13);
    // The PLC program gets the variable: the driver finds it on a later attempt, by itself.
    sim.addVariable('Pressure', 4.5);
    await until(() => latest('ghost')?.value === 4.5 && latest('ghost')?.quality === 'good');
    expect(driver.status()).toMatchObject({ connected: true, tags_good: 2, tags_bad: 0 });
  }, 30_000);
});

describe('OPC UA stale values', () => {
  it('turns values uncertain when the server stops talking, and good again when it resumes', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port });
    await proxy.start();
    try {
      sim.temperature = 70;
      const dev = {
        ...device({ timeout_ms: 10_000 }, [{ name: 'temp', reading_type: 'temperature', node_id: 'ns=1;s=Temperature' }]),
        endpoint: `opc.tcp://127.0.0.1:${proxy.port}`,
      };
      const { seen, latest, driver } = run(dev);
      await until(() => latest('temp')?.value === 70);
      // An unchanged value stays good past the stale limit (3 × 100 ms): keep-alives confirm it.
      const from = seen.length;
      const later = Date.now() + 1000;
      await until(() => (driver.status().last_poll_at ?? 0) > later);
      expect(seen.slice(from).filter((s) => s.quality !== 'good')).toEqual([]);
      proxy.pause();
      await until(() => latest('temp')?.quality === 'uncertain');
      expect(latest('temp')?.reason).toMatch(/^no fresh value for \d+ ms$/);
      proxy.resume();
      await until(() => latest('temp')?.quality === 'good' && latest('temp')?.value === 70);
    } finally {
      proxy.resume();
      for (const d of drivers.splice(0)) await d.stop();
      await proxy.stop();
    }
  }, 30_000);
});

describe('OPC UA fallback', () => {
  it('polls when the server refuses a subscription', async () => {
    const { MessageSecurityMode, OPCUAClient, SecurityPolicy } = await import('node-opcua');
    const limitedPort = await freePort();
    const limited = new OpcuaSim(limitedPort, { noSubscriptions: true });
    await limited.start();
    // Another client takes the server's only subscription.
    const hog = OPCUAClient.create({
      endpointMustExist: false,
      securityMode: MessageSecurityMode.None,
      securityPolicy: SecurityPolicy.None,
      connectionStrategy: { maxRetry: 0 },
    });
    await hog.connect(limited.endpoint);
    const hogSession = await hog.createSession();
    await hogSession.createSubscription2({ requestedPublishingInterval: 1000 });
    try {
      limited.count = 5;
      const { latest, driver } = run({ ...device({}, [{ name: 'count', reading_type: 'count', node_id: 'ns=1;s=Count' }]), endpoint: limited.endpoint });
      await until(() => latest('count')?.value === 5);
      limited.count = 6;
      await until(() => latest('count')?.value === 6);
      // Only the polling path measures a read cycle.
      expect(driver.status().poll_duration_ms).not.toBeNull();
    } finally {
      await hogSession.close();
      await hog.disconnect();
      await limited.stop();
    }
  }, 60_000);
});

describe('OPC UA security', () => {
  it('rejects an untrusted server certificate unless trust is configured', async () => {
    const securePort = await freePort();
    const secure = new OpcuaSim(securePort, { secure: true });
    await secure.start();
    try {
      const base = { endpoint: secure.endpoint, security_mode: 'SignAndEncrypt', security_policy: 'Basic256Sha256', allow_insecure: false };
      const refused = run(device({ ...base }, [{ name: 'temp', reading_type: 't', node_id: 'ns=1;s=Temperature' }]));
      await until(() => refused.driver.status().last_error !== null, 60_000);
      expect(refused.driver.status().last_error).toMatch(/BadCertificateUntrusted/);
      expect(refused.driver.status().connected).toBe(false);
      expect(refused.latest('temp')?.quality ?? 'bad').toBe('bad');
      await refused.driver.stop();
      // The same server, trusted on purpose in config: connects over SignAndEncrypt.
      sim.temperature = 42;
      const trusted = run(device({ ...base, trust_unknown_certificates: true }, [{ name: 'temp', reading_type: 't', node_id: 'ns=1;s=Temperature' }]));
      await until(() => trusted.driver.status().connected, 60_000);
      expect(trusted.driver.status().connected).toBe(true);
    } finally {
      await secure.stop();
    }
  }, 90_000);
});
