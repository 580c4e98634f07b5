import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import modbusSerial from 'modbus-serial';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Driver, Sample } from '../drivers/engine/types.ts';
import type { ModbusTcpDevice } from '../drivers/modbus/config.ts';
import { createModbusDriver } from '../drivers/modbus/driver.ts';
import { silentLogger } from '../src/logger.ts';
import { modbusTcpDevice } from './helpers/modbus.ts';
import { freePort, until } from './helpers/server.ts';

// The Modbus driver against a server this project did not write: pymodbus 3.0 (test/sim/pymodbus_server.py),
// whose values are packed with Python's struct, not with the gateway's codec. Skipped where no
// python3 has pymodbus 3.0 (Debian: apt-get install python3-pymodbus).

const SERVER = path.resolve(import.meta.dirname, 'sim/pymodbus_server.py');
// The pymodbus 3.0 API the server uses; later pymodbus versions moved it and are skipped too.
const PROBE = 'from pymodbus.server.async_io import ModbusConnectedRequestHandler';
const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', PROBE], { stdio: 'ignore' }).status === 0);

interface Pymodbus {
  port: number;
  proc: ChildProcess;
  ctl(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts the pymodbus server on `port` and waits for its READY line. */
async function startPymodbus(port: number, args: string[] = []): Promise<Pymodbus> {
  const proc = spawn(python as string, [SERVER, '--port', String(port), '--control-port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ctlPort = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const m = /^READY \d+ (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`pymodbus server exited with ${code}`)));
  });
  const ctl = (msg: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const sock = connect(ctlPort, '127.0.0.1');
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\n')) {
          sock.end();
          resolve(JSON.parse(buf));
        }
      });
      sock.on('error', reject);
      sock.write(`${JSON.stringify(msg)}\n`);
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  return { port, proc, ctl, stop };
}

let server: Pymodbus;
const drivers: Driver[] = [];

const device = (extra: Record<string, unknown>, tags: Array<Record<string, unknown>>, port = server.port): ModbusTcpDevice =>
  modbusTcpDevice(port, tags, { reconnect: { initial_ms: 50, max_ms: 400 }, ...extra });

function run(dev: ModbusTcpDevice) {
  const seen: Sample[] = [];
  const d = createModbusDriver(dev, { sink: (_dev, samples) => void seen.push(...samples), logger: silentLogger() });
  drivers.push(d);
  d.start();
  const latest = (tag: string) => [...seen].reverse().find((s) => s.tag === tag);
  return { driver: d, seen, latest };
}

const tag = (name: string, area: string, address: number, data_type = 'uint16', extra: Record<string, unknown> = {}) => ({
  name,
  reading_type: name,
  area,
  address,
  data_type,
  ...extra,
});

describe.skipIf(!python)('Modbus TCP driver against pymodbus 3.0', () => {
  beforeAll(async () => {
    // Units 0, 1 and 7; with unit 0 served pymodbus answers any other unit id with exception 0x0B.
    server = await startPymodbus(await freePort(), ['--units', '0,1,7']);
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.stop();
    await server.ctl({ cmd: 'rules', rules: [] });
    await server.ctl({ cmd: 'reset_stats' });
  });

  it('decodes every data type in every byte order as pymodbus serves it', async () => {
    const orders = ['ABCD', 'CDAB', 'BADC', 'DCBA'];
    const tags = [
      tag('u16', 'holding', 0, 'uint16'),
      tag('i16', 'holding', 1, 'int16'),
      tag('i32', 'holding', 2, 'int32'),
      tag('u32', 'holding', 4, 'uint32'),
      ...orders.flatMap((o, i) => [
        tag(`f32_${o}`, 'holding', 10 + 2 * i, 'float32', { byte_order: o }),
        tag(`f64_${o}`, 'holding', 20 + 4 * i, 'float64', { byte_order: o }),
        tag(`i32_${o}`, 'holding', 40 + 2 * i, 'int32', { byte_order: o }),
        tag(`u32_${o}`, 'holding', 50 + 2 * i, 'uint32', { byte_order: o }),
        tag(`i16_${o}`, 'holding', 60 + i, 'int16', { byte_order: o }),
        tag(`u16_${o}`, 'holding', 64 + i, 'uint16', { byte_order: o }),
      ]),
      tag('label', 'holding', 70, 'string', { length: 5 }),
      tag('label_badc', 'holding', 75, 'string', { length: 5, byte_order: 'BADC' }),
      tag('scaled', 'holding', 82, 'float32', { byte_order: 'CDAB', scale: 2, offset: 1 }),
      tag('nan', 'holding', 80, 'float32'),
      tag('ir_i16', 'input', 0, 'int16', { scale: 0.1 }),
      tag('ir_f32', 'input', 2, 'float32', { byte_order: 'CDAB' }),
    ];
    const { latest } = run(device({}, tags));
    await until(() => tags.every((t) => latest(t.name) !== undefined));
    expect(latest('u16')?.value).toBe(54321);
    expect(latest('i16')?.value).toBe(-12345);
    expect(latest('i32')?.value).toBe(-123456789);
    expect(latest('u32')?.value).toBe(3000000000);
    for (const o of orders) {
      expect(latest(`f32_${o}`)?.value).toBeCloseTo(123.456, 4);
      expect(latest(`f64_${o}`)?.value).toBe(-9876.54321);
      expect(latest(`i32_${o}`)?.value).toBe(-123456789);
      expect(latest(`u32_${o}`)?.value).toBe(3000000000);
      expect(latest(`i16_${o}`)?.value).toBe(-2);
      expect(latest(`u16_${o}`)?.value).toBe(0x1234);
    }
    expect(latest('label')?.value).toBe('PRESS-A');
    expect(latest('label_badc')?.value).toBe('PRESS-A');
    expect(latest('scaled')?.value).toBe(44);
    expect(latest('nan')).toMatchObject({ quality: 'bad', reason: 'not a finite number (NaN/Inf)' });
    expect(latest('ir_i16')?.value).toBeCloseTo(-20, 9);
    expect(latest('ir_f32')?.value).toBe(-40.25);
  });

  it('decodes coils and discrete inputs across byte boundaries', async () => {
    // Coils on at 0 2 3 7 8 15 16 19 100 2047; discrete inputs on at 1 4 5 9 14 17 18.
    const coils = [0, 1, 7, 8, 9, 15, 16, 18, 19, 100, 2047];
    const discrete = [0, 1, 5, 6, 9, 14, 17, 18, 19];
    const tags = [...coils.map((a) => tag(`c${a}`, 'coil', a, 'bool')), ...discrete.map((a) => tag(`d${a}`, 'discrete', a, 'bool'))];
    const { latest } = run(device({}, tags));
    await until(() => tags.every((t) => latest(t.name)?.quality === 'good'));
    expect(Object.fromEntries(coils.map((a) => [a, latest(`c${a}`)?.value]))).toEqual({
      0: 1,
      1: 0,
      7: 1,
      8: 1,
      9: 0,
      15: 1,
      16: 1,
      18: 0,
      19: 1,
      100: 1,
      2047: 1,
    });
    expect(Object.fromEntries(discrete.map((a) => [a, latest(`d${a}`)?.value]))).toEqual({
      0: 0,
      1: 1,
      5: 1,
      6: 0,
      9: 1,
      14: 1,
      17: 1,
      18: 1,
      19: 0,
    });
  });

  it('keeps requests within 125 registers and 2000 bits, which pymodbus accepts', async () => {
    const floats = Array.from({ length: 100 }, (_, k) => tag(`f${k}`, 'holding', 200 + 2 * k, 'float32'));
    const bits = Array.from({ length: 52 }, (_, k) => tag(`c${k * 50}`, 'coil', k * 50, 'bool'));
    const { latest } = run(device({ max_gap: 100 }, [...floats, ...bits]));
    await until(() => [...floats, ...bits].every((t) => latest(t.name)?.quality === 'good'));
    expect(latest('f99')?.value).toBe(99.5);
    const { log } = (await server.ctl({ cmd: 'stats', last: 500 })) as { log: Array<[number, number, number, number]> };
    const counts = (fc: number) => [...new Set(log.filter(([f]) => f === fc).map(([, , addr, count]) => `${addr}+${count}`))].sort();
    expect(counts(3)).toEqual(['200+124', '324+76']);
    expect(counts(1)).toEqual(['0+1951', '2000+551']);
  });

  it('marks exception responses bad with their code, including 0x0B, and keeps polling other blocks', async () => {
    await server.ctl({
      cmd: 'rules',
      rules: [
        { fc: 3, start: 1000, end: 1001, action: 'exception', code: 2 },
        { fc: 4, start: 0, end: 10, action: 'exception', code: 11 },
        { fc: 1, start: 0, end: 1, action: 'exception', code: 12 },
      ],
    });
    const { latest, driver } = run(
      device({}, [
        tag('ok', 'holding', 0),
        tag('state', 'holding', 1000),
        tag('ir', 'input', 1),
        tag('coil', 'coil', 0, 'bool'),
        tag('di', 'discrete', 1, 'bool'),
      ]),
    );
    await until(() => ['ok', 'state', 'ir', 'coil', 'di'].every((t) => latest(t) !== undefined));
    expect(latest('state')).toMatchObject({ quality: 'bad', reason: 'modbus exception 2 (illegal data address)' });
    expect(latest('ir')).toMatchObject({ quality: 'bad', reason: 'modbus exception 11 (gateway target failed to respond)' });
    expect(latest('coil')).toMatchObject({ quality: 'bad', reason: 'modbus exception 12 (unknown)' });
    expect(latest('ok')).toMatchObject({ quality: 'good', value: 54321 });
    expect(latest('di')).toMatchObject({ quality: 'good', value: 1 });
    // An exception is an answer: the connection stays up while the driver polls on (five tags, about
    // five requests a poll, so ten more requests are two more polls after the exceptions).
    const requests = async () => ((await server.ctl({ cmd: 'stats', last: 0 })) as { requests: number }).requests;
    const before = await requests();
    await until(async () => (await requests()) >= before + 10);
    expect(driver.status().connected).toBe(true);
    expect(((await server.ctl({ cmd: 'stats', last: 0 })) as { connections: number }).connections).toBe(1);
  });

  it('talks to the configured unit id; pymodbus answers an unknown one with exception 0x0B', async () => {
    // Holding register 1000 holds the unit id that answered.
    const seven = run(device({ unit_id: 7 }, [tag('unit', 'holding', 1000)]));
    const nine = run(device({ unit_id: 9 }, [tag('unit', 'holding', 1000)]));
    await until(() => seven.latest('unit')?.quality === 'good' && nine.latest('unit') !== undefined);
    expect(seven.latest('unit')?.value).toBe(7);
    expect(nine.latest('unit')).toMatchObject({ quality: 'bad', reason: 'modbus exception 11 (gateway target failed to respond)' });
  });

  it('goes bad when pymodbus is restarted and resumes by itself', async () => {
    const port = await freePort();
    let restarted = await startPymodbus(port);
    try {
      const { latest } = run(device({}, [tag('u16', 'holding', 0), tag('f', 'holding', 12, 'float32', { byte_order: 'CDAB' })], port));
      await until(() => latest('u16')?.quality === 'good');
      await restarted.stop();
      await until(() => latest('u16')?.quality === 'bad' && latest('f')?.quality === 'bad', 5000);
      restarted = await startPymodbus(port);
      await until(() => latest('u16')?.quality === 'good' && latest('f')?.quality === 'good', 8000);
      expect(latest('f')?.value).toBeCloseTo(123.456, 4);
    } finally {
      await restarted.stop();
    }
  });

  // Devices (and pymodbus' own payload builder) keep strings in register order whatever their word
  // order for 32/64-bit values; on a CDAB device "PRESS-A" once read as "\0\0A\0S-ESPR".
  it('reads a string on a word-swapped (CDAB) device in register order', async () => {
    const { latest } = run(device({ byte_order: 'CDAB' }, [tag('label', 'holding', 70, 'string', { length: 5 }), tag('f', 'holding', 12, 'float32')]));
    await until(() => latest('label')?.quality === 'good' && latest('f')?.quality === 'good');
    expect(latest('f')?.value).toBeCloseTo(123.456, 4);
    expect(latest('label')?.value).toBe('PRESS-A');
  });

  // A device that accepts connections but never answers (pymodbus ignoring a unit, a hung PLC task,
  // a gateway whose serial side is dead) is retried with growing waits: the backoff is reset by an
  // answer, not by a TCP connect.
  it('backs off when the device accepts connections but never answers', async () => {
    await server.ctl({ cmd: 'rules', rules: [{ unit: 1, action: 'silent' }] });
    const { latest } = run(device({ timeout_ms: 100, reconnect: { initial_ms: 100, max_ms: 3200 } }, [tag('u16', 'holding', 0)]));
    await until(() => latest('u16')?.quality === 'bad');
    // Six connects: each wait is between half and all of 100, 200, 400, 800, 1600 ms (full jitter),
    // after the 100 ms timeout. Without backoff every gap stays near 200 ms; a slow machine only
    // lengthens gaps, so the lower bounds hold however loaded the box is.
    const gaps = async () => ((await server.ctl({ cmd: 'stats', last: 0 })) as { conn_gaps_ms: number[] }).conn_gaps_ms;
    await until(async () => (await gaps()).length >= 5, 12_000);
    const [, , third = 0, fourth = 0, fifth = 0] = await gaps();
    expect(third).toBeGreaterThanOrEqual(200);
    expect(fourth).toBeGreaterThanOrEqual(400);
    expect(fifth).toBeGreaterThanOrEqual(800);
  }, 15_000);

  // Every request was once raced against one promise that lived as long as the connection, which
  // kept every answer reachable until the connection closed: ~0.5–1.7 KB per request on a healthy
  // connection, hours to days to fill npm start's 128 MB heap.
  it('lets go of the answers of finished requests on a healthy connection', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const proto = modbusSerial.default.prototype as unknown as Record<string, (...a: unknown[]) => Promise<{ data: number[] }>>;
    const original = proto.readHoldingRegisters as (...a: unknown[]) => Promise<{ data: number[] }>;
    const answers: Array<WeakRef<number[]>> = [];
    proto.readHoldingRegisters = async function (this: unknown, ...args: unknown[]) {
      const res = await original.apply(this, args);
      answers.push(new WeakRef(res.data));
      return res;
    };
    try {
      const { driver } = run(device({ poll_interval_ms: 10 }, [tag('f0', 'holding', 200, 'float32'), tag('f61', 'holding', 322, 'float32')]));
      await until(() => answers.length >= 200);
      gc();
      await new Promise((r) => setTimeout(r, 50));
      gc();
      expect(driver.status().connected).toBe(true);
      const finished = answers.slice(0, 150);
      const alive = finished.filter((w) => w.deref() !== undefined).length;
      expect(alive).toBeLessThan(10);
    } finally {
      proto.readHoldingRegisters = original;
    }
  });
});
