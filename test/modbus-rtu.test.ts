import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import modbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevices } from '../drivers/config.ts';
import { encodeRegisters } from '../drivers/engine/codec.ts';
import type { Sample } from '../drivers/engine/types.ts';
import type { ModbusRtuDevice } from '../drivers/modbus/config.ts';
import { createModbusDriver } from '../drivers/modbus/driver.ts';
import { silentLogger } from '../src/logger.ts';
import { until } from './helpers/server.ts';

// Modbus RTU over a real serial line: socat joins two pseudo-terminals, modbus-serial's
// ServerSerial answers on one end and the driver polls the other. CI installs socat.
const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

let dir: string;
let socat: ChildProcess;
let server: InstanceType<typeof modbusSerial.ServerSerial> | undefined;
const holding = new Array<number>(100).fill(0);
let silent = false;

function startServer(port: string) {
  server = new modbusSerial.ServerSerial(
    {
      getHoldingRegister: (addr: number, _unit: number, cb: (err: Error | null, v: number) => void) => {
        if (!silent) cb(null, holding[addr] ?? 0);
      },
    } as never,
    { path: port, baudRate: 19200, unitID: 3 } as never,
  );
}

beforeAll(async () => {
  if (!hasSocat) return;
  dir = mkdtempSync(path.join(tmpdir(), 'gw-rtu-'));
  socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/plc`, `pty,raw,echo=0,link=${dir}/gateway`], { stdio: 'ignore' });
  await until(() => existsSync(`${dir}/plc`) && existsSync(`${dir}/gateway`), 5000);
  startServer(`${dir}/plc`);
});
afterAll(async () => {
  if (!hasSocat) return;
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  socat.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasSocat)('Modbus RTU over a serial line (socat pty pair)', () => {
  it('polls, decodes, and marks a device that stops answering bad, then good again', async () => {
    encodeRegisters(-42.25, 'float32', 'CDAB').forEach((w, i) => {
      holding[10 + i] = w;
    });
    holding[20] = 7;
    const device = parseDevices({
      machines: [{ name: 'mixer', machine_type: 'mixer' }],
      devices: [
        {
          name: 'mixer-rtu',
          protocol: 'modbus-rtu',
          machine: 'mixer',
          path: `${dir}/gateway`,
          baud_rate: 19200,
          unit_id: 3,
          timeout_ms: 300,
          poll_interval_ms: 100,
          reconnect: { initial_ms: 100, max_ms: 500 },
          tags: [
            { name: 'temp', reading_type: 'temperature', area: 'holding', address: 10, data_type: 'float32', byte_order: 'CDAB' },
            { name: 'speed', reading_type: 'speed', area: 'holding', address: 20 },
          ],
        },
      ],
    }).devices[0]?.config as ModbusRtuDevice;
    const seen: Sample[] = [];
    const driver = createModbusDriver(device, { sink: (_d, s) => void seen.push(...s), logger: silentLogger() });
    const latest = (tag: string) => [...seen].reverse().find((s) => s.tag === tag);
    driver.start();
    try {
      await until(() => latest('temp')?.quality === 'good' && latest('speed')?.quality === 'good');
      expect(latest('temp')?.value).toBe(-42.25);
      expect(latest('speed')?.value).toBe(7);
      silent = true;
      await until(() => latest('speed')?.quality === 'bad');
      expect(latest('speed')?.reason).toMatch(/timeout|timed out/);
      silent = false;
      holding[20] = 8;
      await until(() => latest('speed')?.quality === 'good' && latest('speed')?.value === 8, 10_000);
    } finally {
      await driver.stop();
    }
  }, 30_000);
});
