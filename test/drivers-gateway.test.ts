import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRegisters } from '../drivers/engine/codec.ts';
import type { RunningGateway } from '../src/main.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { listeningGateway } from './helpers/app.ts';
import { freePort, loginOverHttp, until } from './helpers/server.ts';
import { ModbusSim } from './sim/modbus-sim.ts';
import { OpcuaSim } from './sim/opcua-sim.ts';

// The shipped example config, pointed at simulators on free ports: live readings appear in
// GET /machines, machine status follows the mapped register, /drivers/status reports both devices.

let dir: string;
let gw: RunningGateway;
let modbus: ModbusSim;
let opcua: OpcuaSim;
let token: string;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-drv-'));
  const [mPort, oPort] = [await freePort(), await freePort()];
  modbus = new ModbusSim(mPort);
  await modbus.start();
  opcua = new OpcuaSim(oPort, { namespaceUri: 'urn:edge-gateway:simulator' });
  await opcua.start();
  modbus.holding[0] = 1;
  encodeRegisters(123.5, 'float32', 'ABCD').forEach((w, i) => {
    modbus.holding[2 + i] = w;
  });
  encodeRegisters(70000, 'uint32', 'CDAB').forEach((w, i) => {
    modbus.holding[4 + i] = w;
  });
  modbus.input[0] = 452;
  modbus.discrete[0] = true;
  opcua.temperature = 165;
  opcua.count = 12;

  const cfgDir = path.join(dir, 'config');
  mkdirSync(cfgDir);
  const example = readFileSync(path.resolve(import.meta.dirname, '../config/devices.example.yaml'), 'utf8')
    .replace('port: 5020', `port: ${mPort}`)
    .replace('opc.tcp://127.0.0.1:4840', `opc.tcp://127.0.0.1:${oPort}`)
    .replace('poll_interval_ms: 1000', 'poll_interval_ms: 100');
  writeFileSync(path.join(cfgDir, 'devices.yaml'), example);
  writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'devices_file: devices.yaml\nreadings:\n  flush_interval_ms: 20\n');
  ({ gw, base } = await listeningGateway(dir, { CONFIG_DIR: cfgDir }));
  await createUser(gw.ctx, { username: 'boss', password: 'boss-password', role: 'manager' });
  token = await loginOverHttp(base, 'boss', 'boss-password');
}, 60_000);

afterAll(async () => {
  await gw.stop();
  await modbus.stop();
  await opcua.stop();
  rmSync(dir, { recursive: true, force: true });
});

const get = async <T>(url: string) => ((await (await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: T }).data;

interface MachineJson {
  id: number;
  name: string;
  status: string;
  source: string;
  last_seen_at: string | null;
  latest: Record<string, { value: number; quality: string; unit: string | null }>;
}

describe('gateway with the example device config', () => {
  it('shows live readings from both PLCs in GET /machines', async () => {
    let machines: MachineJson[] = [];
    await until(async () => {
      machines = await get<MachineJson[]>('/machines');
      const press = machines.find((m) => m.name === 'press-01');
      const oven = machines.find((m) => m.name === 'oven-01');
      // Each Modbus area is its own request, so wait for a value from every one the test reads.
      return Boolean(
        press?.latest.stroke_count &&
          press.latest.temperature &&
          press.latest.pressure &&
          press.latest.guard_closed &&
          oven?.latest.temperature &&
          oven.latest.part_count,
      );
    });
    const press = machines.find((m) => m.name === 'press-01') as MachineJson;
    const oven = machines.find((m) => m.name === 'oven-01') as MachineJson;
    expect(press).toMatchObject({ source: 'modbus', status: 'running' });
    expect(press.latest.pressure).toMatchObject({ value: 123.5, unit: 'bar', quality: 'good' });
    expect(press.latest.stroke_count?.value).toBe(70000);
    expect(press.latest.temperature?.value).toBeCloseTo(45.2, 6);
    expect(press.latest.guard_closed?.value).toBe(1);
    expect(press.last_seen_at).not.toBeNull();
    expect(oven).toMatchObject({ source: 'opcua' });
    expect(oven.latest.temperature).toMatchObject({ value: 165, quality: 'good' });
  });

  it('keeps machines.status current from the mapped register', async () => {
    modbus.holding[0] = 2;
    await until(async () => (await get<MachineJson[]>('/machines')).find((m) => m.name === 'press-01')?.status === 'down');
  });

  it('stores an unchanged value only on heartbeat, a change beyond the deadband at once', async () => {
    const press = (await get<MachineJson[]>('/machines')).find((m) => m.name === 'press-01') as MachineJson;
    const count = async () => {
      gw.ctx.readings.flush();
      return (await get<unknown[]>(`/machines/${press.id}/readings?reading_type=pressure&limit=500`)).length;
    };
    /** Waits until the press PLC has been read three more times (its values counted by the gateway). */
    const threePolls = async () => {
      const values = async () => (await gw.ctx.metrics.driverValues.get()).values.find((v) => v.labels.device === 'press-01-plc')?.value ?? 0;
      const from = await values();
      await until(async () => (await values()) >= from + 3 * 5);
    };
    const before = await count();
    await threePolls();
    expect(await count()).toBe(before);
    encodeRegisters(123.8, 'float32', 'ABCD').forEach((w, i) => {
      modbus.holding[2 + i] = w;
    });
    await threePolls();
    expect(await count()).toBe(before);
    encodeRegisters(130, 'float32', 'ABCD').forEach((w, i) => {
      modbus.holding[2 + i] = w;
    });
    await until(async () => (await count()) === before + 1);
  });

  it('reports each device in /drivers/status', async () => {
    const status = await get<Array<Record<string, unknown>>>('/drivers/status');
    expect(status.map((s) => s.device).sort()).toEqual(['oven-01-opc', 'press-01-plc']);
    for (const s of status) {
      expect(s).toMatchObject({ connected: true });
      expect(s.tags_good).toBe(s.tags_total);
      expect(s.last_success_at).toEqual(expect.any(String));
      // last_error is history: a read that timed out on a loaded machine may have recovered since.
      if (s.last_error !== null) expect(Date.parse(String(s.last_success_at))).toBeGreaterThanOrEqual(Date.parse(String(s.last_error_at)));
    }
  });

  it('shows whether the device answers for a machine without a status map', async () => {
    // oven-01's device has no status map: it is idle while the OPC UA server answers.
    await until(async () => (await get<MachineJson[]>('/machines')).find((m) => m.name === 'oven-01')?.status === 'idle');
    await opcua.stop();
    await until(async () => (await get<MachineJson[]>('/machines')).find((m) => m.name === 'oven-01')?.status === 'offline');
    const status = await get<Array<Record<string, unknown>>>('/drivers/status');
    expect(status.find((s) => s.device === 'oven-01-opc')).toMatchObject({ connected: false, last_error: expect.any(String), tags_bad: 2 });
  });

  it('shows bad quality when a PLC goes away, and a stored reason', async () => {
    await modbus.stop();
    await until(async () => {
      const press = (await get<MachineJson[]>('/machines')).find((m) => m.name === 'press-01');
      return press?.latest.pressure?.quality === 'bad';
    });
    const status = await get<Array<Record<string, unknown>>>('/drivers/status');
    expect(status.find((s) => s.device === 'press-01-plc')).toMatchObject({ connected: false });
  });
});
