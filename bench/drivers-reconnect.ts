import type { Sample } from '../drivers/engine/types.ts';
import { createModbusDriver } from '../drivers/modbus/driver.ts';
import { silentLogger } from '../src/logger.ts';
import { modbusTcpDevice } from '../test/helpers/modbus.ts';
import { freePort, until } from '../test/helpers/server.ts';
import { ModbusSim } from '../test/sim/modbus-sim.ts';

/**
 * One Modbus driver against an in-process simulator that is stopped and started `cycles` times:
 * what each reconnect costs, and what heap and handles are left afterwards (a leak shows as
 * growth per cycle). Moved here from test/modbus.test.ts: figures, not assertions.
 */
export async function benchReconnects(cycles = Number(process.env.BENCH_RECONNECTS ?? 50)) {
  const port = await freePort();
  let sim = new ModbusSim(port);
  await sim.start();
  sim.holding[0] = 1;
  const device = modbusTcpDevice(port, [{ name: 'a', reading_type: 'a', area: 'holding', address: 0 }], {
    reconnect: { initial_ms: 10, max_ms: 100 },
  });
  let last: Sample | undefined;
  const driver = createModbusDriver(device, {
    sink: (_d, s) => {
      last = s.at(-1) ?? last;
      return undefined;
    },
    logger: silentLogger(),
  });
  driver.start();
  await until(() => last?.quality === 'good');
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const handlesBefore = process.getActiveResourcesInfo().length;
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    await sim.stop();
    await until(() => !driver.status().connected, 5000);
    sim = new ModbusSim(port);
    sim.holding[0] = 1;
    await sim.start();
    await until(() => driver.status().connected, 5000);
  }
  await until(() => last?.quality === 'good');
  const msPerCycle = (performance.now() - t0) / cycles;
  global.gc?.();
  const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  const handleGrowth = process.getActiveResourcesInfo().length - handlesBefore;
  await driver.stop();
  await sim.stop();
  return { cycles, msPerCycle, heapGrowthMb, handleGrowth };
}
