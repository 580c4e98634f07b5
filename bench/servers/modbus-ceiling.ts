// The ceiling: the plainest loop of 125-register reads, one client per simulator, for
// BENCH_DURATION_S seconds. Sends {registers} read in total.
import modbusSerial from 'modbus-serial';

const ports = (process.env.BENCH_PORTS ?? '').split(',').map(Number);
const durationMs = Number(process.env.BENCH_DURATION_S ?? 5) * 1000;
let registers = 0;
const end = Date.now() + durationMs;
await Promise.all(
  ports.map(async (port) => {
    const client = new modbusSerial.default();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    client.setTimeout(2000);
    let addr = 0;
    while (Date.now() < end) {
      const r = await client.readHoldingRegisters(addr, 125);
      registers += r.data.length;
      addr = (addr + 125) % 1875;
    }
    client.close(() => {});
  }),
);
process.send?.({ registers });
setTimeout(() => process.exit(0), 100);
