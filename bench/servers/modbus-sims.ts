// BENCH_DEVICES Modbus TCP simulators in one separate process, each with BENCH_TAGS float32 tags
// (registers 0..2×tags) whose values drift every second. Sends {ports} when listening.
import { encodeRegisters } from '../../drivers/engine/codec.ts';
import { freePort } from '../../test/helpers/server.ts';
import { ModbusSim } from '../../test/sim/modbus-sim.ts';

const devices = Number(process.env.BENCH_DEVICES ?? 10);
const tags = Number(process.env.BENCH_TAGS ?? 1000);
const sims: ModbusSim[] = [];
for (let d = 0; d < devices; d++) {
  const sim = new ModbusSim(await freePort());
  await sim.start();
  sims.push(sim);
}
const drift = () => {
  for (const sim of sims) {
    for (let t = 0; t < tags; t++) {
      const [hi, lo] = encodeRegisters(20 + Math.random() * 10, 'float32', 'ABCD');
      sim.holding[2 * t] = hi ?? 0;
      sim.holding[2 * t + 1] = lo ?? 0;
    }
  }
};
drift();
let drifting = true;
setInterval(() => drifting && drift(), 1000).unref();
// The benchmark switches drift off to measure polling alone (report by exception then stores nothing new).
process.on('message', (m: { drift?: boolean }) => {
  if (typeof m?.drift === 'boolean') drifting = m.drift;
});
process.send?.({ ports: sims.map((s) => s.port) });
process.on('SIGTERM', () => {
  void Promise.all(sims.map((s) => s.stop())).then(() => process.exit(0));
});
setInterval(() => {}, 1 << 30);
