import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRegisters } from '../drivers/engine/codec.ts';
import type { Driver, Sample } from '../drivers/engine/types.ts';
import type { ModbusTcpDevice } from '../drivers/modbus/config.ts';
import { createModbusDriver } from '../drivers/modbus/driver.ts';
import { silentLogger } from '../src/logger.ts';
import { modbusTcpDevice } from './helpers/modbus.ts';
import { freePort, until } from './helpers/server.ts';
import { ModbusSim } from './sim/modbus-sim.ts';

let sim: ModbusSim;
let port: number;
const drivers: Driver[] = [];

beforeEach(async () => {
  port = await freePort();
  sim = new ModbusSim(port);
  await sim.start();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.stop();
  await sim.stop();
});

const device = (extra: Record<string, unknown>, tags: Array<Record<string, unknown>>, name = 'plc'): ModbusTcpDevice =>
  modbusTcpDevice(port, tags, extra, name);

/** Runs a driver and collects what it emits, per tag, latest last. */
function run(dev: ModbusTcpDevice, onRequests?: (n: number) => void) {
  const seen: Sample[] = [];
  const d = createModbusDriver(dev, { sink: (_dev, samples) => void seen.push(...samples), logger: silentLogger(), ...(onRequests ? { onRequests } : {}) });
  drivers.push(d);
  d.start();
  const latest = (tag: string) => [...seen].reverse().find((s) => s.tag === tag);
  return { driver: d, seen, latest };
}

describe('decoding against a real Modbus TCP server', () => {
  const cases: Array<[string, number]> = [
    ['int16', -12345],
    ['uint16', 54321],
    ['int32', -123456789],
    ['uint32', 3456789012],
    ['float32', 21.5],
    ['float64', -1234.5678901234],
  ];
  for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
    it(`decodes every data type in byte order ${order}`, async () => {
      const tags: Array<Record<string, unknown>> = [];
      let addr = 0;
      for (const [type, value] of cases) {
        const words = encodeRegisters(value, type as never, order);
        words.forEach((w, i) => {
          sim.holding[addr + i] = w;
        });
        tags.push({ name: type, reading_type: type, area: 'holding', address: addr, data_type: type, byte_order: order });
        addr += 4;
      }
      const { latest } = run(device({}, tags));
      await until(() => cases.every(([type]) => latest(type)?.quality === 'good'));
      for (const [type, value] of cases) {
        const got = latest(type)?.value as number;
        if (type === 'float32') expect(got).toBeCloseTo(value, 5);
        else expect(got).toBe(value);
      }
    });
  }

  it('reads bits, strings, input registers, and applies scale and offset', async () => {
    sim.coils[3] = true;
    sim.discrete[7] = true;
    encodeRegisters('PRESS-A', 'string', 'ABCD', 4).forEach((w, i) => {
      sim.holding[100 + i] = w;
    });
    sim.input[10] = 250;
    const { latest } = run(
      device({}, [
        { name: 'run', reading_type: 'running', area: 'coil', address: 3, data_type: 'bool' },
        { name: 'door', reading_type: 'door', area: 'discrete', address: 7, data_type: 'bool' },
        { name: 'label', reading_type: 'label', area: 'holding', address: 100, data_type: 'string', length: 4 },
        { name: 'temp', reading_type: 'temperature', area: 'input', address: 10, data_type: 'int16', scale: 0.1, offset: -5 },
      ]),
    );
    await until(() => ['run', 'door', 'label', 'temp'].every((t) => latest(t)?.quality === 'good'));
    expect(latest('run')?.value).toBe(1);
    expect(latest('door')?.value).toBe(1);
    expect(latest('label')?.value).toBe('PRESS-A');
    expect(latest('temp')?.value).toBeCloseTo(20, 6);
  });
});

describe('request coalescing', () => {
  const tags = (n: number, stride: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `t${i}`, reading_type: `r${i}`, area: 'holding', address: i * stride, data_type: 'float32' }));

  it('reads 200 adjacent float32 tags (400 registers) in 4 requests', async () => {
    const counts: number[] = [];
    run(device({}, tags(200, 2)), (n) => counts.push(n));
    await until(() => counts.length > 0);
    expect(counts[0]).toBe(4);
  });

  it('splits on gaps wider than max_gap and honours quirk settings', async () => {
    const wide: number[] = [];
    run(device({ max_gap: 2 }, tags(5, 10)), (n) => wide.push(n));
    const narrow: number[] = [];
    run(device({ max_gap: 20 }, tags(5, 10), 'plc2'), (n) => narrow.push(n));
    const perTag: number[] = [];
    run(device({ one_request_per_tag: true }, tags(6, 2), 'plc3'), (n) => perTag.push(n));
    const small: number[] = [];
    run(device({ max_registers_per_request: 4 }, tags(6, 2), 'plc4'), (n) => small.push(n));
    await until(() => [wide, narrow, perTag, small].every((c) => c.length > 0));
    expect([wide[0], narrow[0], perTag[0], small[0]]).toEqual([5, 1, 6, 3]);
  });
});

describe('faults', () => {
  it('goes bad when the server stops and good again when it returns, by itself', async () => {
    sim.holding[0] = 7;
    const { latest, driver } = run(device({}, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]));
    await until(() => latest('a')?.quality === 'good');
    await sim.stop();
    await until(() => latest('a')?.quality === 'bad');
    expect(driver.status().connected).toBe(false);
    expect(driver.status().last_error).toBeTruthy();
    sim = new ModbusSim(port);
    sim.holding[0] = 8;
    await sim.start();
    await until(() => latest('a')?.quality === 'good' && latest('a')?.value === 8, 8000);
    expect(driver.status().connected).toBe(true);
  });

  it('marks exception responses bad with the code as reason, keeping other blocks good', async () => {
    sim.faults.exceptionAt = { start: 50, end: 60, code: 2 };
    const { latest } = run(
      device({ max_gap: 0 }, [
        { name: 'ok', reading_type: 'ok', area: 'holding', address: 0 },
        { name: 'broken', reading_type: 'broken', area: 'holding', address: 55 },
      ]),
    );
    await until(() => latest('ok')?.quality === 'good' && latest('broken')?.quality === 'bad');
    expect(latest('broken')?.reason).toBe('modbus exception 2 (illegal data address)');
  });

  it('times out a silent server without delaying another device', async () => {
    const otherPort = await freePort();
    const other = new ModbusSim(otherPort);
    await other.start();
    try {
      other.holding[0] = 1;
      sim.faults.silent = true;
      const silent = run(device({ timeout_ms: 4000 }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }], 'silent'));
      await until(() => sim.requests > 0);
      let polls = 0;
      const healthy = run({ ...device({}, [{ name: 'b', reading_type: 'b', area: 'holding', address: 0 }], 'healthy'), port: otherPort }, () => polls++);
      // Five polls of the healthy device while the silent one still waits on its first request.
      await until(() => polls >= 5 && healthy.latest('b')?.quality === 'good');
      expect(silent.latest('a')?.quality).not.toBe('bad');
      await until(() => silent.latest('a')?.quality === 'bad');
      expect(silent.latest('a')?.reason).toMatch(/timeout|timed out/);
    } finally {
      await other.stop();
    }
  });

  it('survives a server that answers garbage, and reconnects', async () => {
    const garbagePort = await freePort();
    const garbage: Server = createServer((sock) => {
      sock.on('data', () => sock.write(Buffer.from('HTTP/1.1 200 OK\r\n\r\nnot modbus at all')));
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => garbage.listen(garbagePort, '127.0.0.1', () => r()));
    let connections = 0;
    garbage.on('connection', () => connections++);
    try {
      const dev = { ...device({}, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }], 'garbage'), port: garbagePort };
      const { latest } = run(dev);
      await until(() => latest('a')?.quality === 'bad' && connections >= 2, 8000);
    } finally {
      garbage.close();
    }
  });

  it('marks a value uncertain once it is older than three poll periods, bad when the timeout ends', async () => {
    sim.holding[0] = 3;
    const { seen, latest } = run(device({ timeout_ms: 3000, poll_interval_ms: 50 }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]));
    await until(() => latest('a')?.quality === 'good');
    sim.faults.silent = true;
    const from = seen.length;
    await until(() => latest('a')?.quality === 'bad', 8000);
    expect(seen.slice(from).map((s) => s.quality)).toEqual(['uncertain', 'bad']);
    expect(seen[from]?.reason).toMatch(/^no fresh value for \d+ ms$/);
  });

  it('still shows the uncertain phase after a timed-out poll (the stale rule does not drift)', async () => {
    sim.holding[0] = 3;
    const { seen, latest } = run(device({ timeout_ms: 3000, poll_interval_ms: 50 }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]));
    await until(() => latest('a')?.quality === 'good');
    const hang = async () => {
      sim.faults.silent = true;
      const from = seen.length;
      await until(() => latest('a')?.quality === 'bad', 8000);
      sim.faults.silent = false;
      await until(() => latest('a')?.quality === 'good', 8000);
      return seen.slice(from).map((s) => s.quality);
    };
    expect((await hang()).slice(0, 2)).toEqual(['uncertain', 'bad']);
    expect((await hang()).slice(0, 2)).toEqual(['uncertain', 'bad']);
  }, 30_000);

  it('does not flap between good and uncertain when a cycle takes longer than the interval', async () => {
    sim.holding[0] = 3;
    sim.faults.delayMs = 120;
    let polls = 0;
    const { seen, latest } = run(
      device({ timeout_ms: 2000, poll_interval_ms: 10 }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]),
      () => polls++,
    );
    await until(() => latest('a')?.quality === 'good');
    const from = polls;
    await until(() => polls >= from + 8);
    expect(seen.filter((s) => s.quality === 'uncertain')).toEqual([]);
  });

  it('fails a request in flight at once when the PLC closes the connection, not at the timeout', async () => {
    sim.holding[0] = 3;
    const { latest } = run(device({ timeout_ms: 60_000 }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]));
    await until(() => latest('a')?.quality === 'good');
    sim.faults.silent = true;
    const asked = sim.requests;
    await until(() => sim.requests > asked);
    sim.dropConnections();
    // The test's own limit (5 s) is far below the 60 s request timeout.
    await until(() => latest('a')?.quality === 'bad', 5000);
    expect(latest('a')?.reason).toBe('connection closed by the device');
  });

  it('leaves no handles behind over 10 reconnect cycles', async () => {
    sim.holding[0] = 1;
    const { latest, driver } = run(device({ reconnect: { initial_ms: 10, max_ms: 100 } }, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }]));
    await until(() => latest('a')?.quality === 'good');
    const handlesBefore = process.getActiveResourcesInfo().length;
    for (let i = 0; i < 10; i++) {
      await sim.stop();
      await until(() => driver.status().connected === false, 3000);
      sim = new ModbusSim(port);
      await sim.start();
      await until(() => driver.status().connected === true, 3000);
    }
    await until(() => latest('a')?.quality === 'good');
    expect(process.getActiveResourcesInfo().length - handlesBefore).toBeLessThanOrEqual(3);
  }, 60_000);
});
