// A gateway as deployed (production settings) with machines and a console user, storing readings
// through the drivers' path (ctx.readings.push, flushed by the batch writer) at BENCH_SSE_RATE per
// second on {cmd: 'start'}. One reading per tick is a sequence number (machine 0, reading type
// `seq`): the bus tells when the batch carrying each number committed, and {cmd: 'stop'} answers
// with those commit times, so the bench can time commit → event received in the browser's stream.
import { startBenchGateway } from './bench-gateway.ts';
import { product } from '../product.ts';

const { createUser } = await product<typeof import('../../src/modules/auth/service.ts')>('src/modules/auth/service');
const { createMachine } = await product<typeof import('../../src/modules/machines/service.ts')>('src/modules/machines/service');
import type { ReadingInput } from '../../src/modules/readings/writer.ts';

const machines = Number(process.env.BENCH_SSE_MACHINES ?? 10);
const types = Number(process.env.BENCH_SSE_TYPES ?? 10);
const { gw } = await startBenchGateway('gw-bench-sse-', 'warn');
const ctx = gw.ctx;
await createUser(ctx, { username: 'bench-console', password: 'bench-console-pw', role: 'worker' });
const ids = ctx.store.commandNow((tx) =>
  Array.from({ length: machines }, (_, i) => createMachine(ctx, tx, undefined, { name: `bench-m${i}`, machine_type: 'press' }).id),
);
const wall = () => performance.timeOrigin + performance.now();

const commits: Array<[number, number]> = [];
let stored = 0;
let startedAt = 0;
ctx.bus.subscribeReadings((batch) => {
  const at = wall();
  stored += batch.count;
  const seq = batch.latest.find((l) => l.machineId === ids[0] && l.readingType === 'seq');
  if (seq?.value !== null && seq?.value !== undefined) commits.push([seq.value, at]);
});

let timer: NodeJS.Timeout | undefined;
function start(rate: number) {
  const t0 = performance.now();
  let pushed = 0;
  let seq = 0;
  let next = 0;
  timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate) - pushed;
    if (due <= 0) return;
    const now = Date.now();
    const batch: ReadingInput[] = [{ machineId: ids[0] ?? 0, readingType: 'seq', value: ++seq, unit: null, quality: 'good', reason: null, sourceTs: now }];
    for (let i = 1; i < due; i++, next++) {
      batch.push({
        machineId: ids[next % machines] ?? 0,
        readingType: `t${Math.floor(next / machines) % types}`,
        value: Math.round(Math.random() * 1000) / 10,
        unit: 'u',
        quality: 'good',
        reason: null,
        sourceTs: now,
      });
    }
    pushed += batch.length;
    ctx.readings.push(batch, 'bench');
  }, 10);
}

process.on('message', (m: { cmd: string; rate?: number }) => {
  if (m.cmd === 'start') {
    commits.length = 0;
    stored = 0;
    startedAt = performance.now();
    start(m.rate ?? 10_000);
    process.send?.({ started: true });
  } else if (m.cmd === 'stop') {
    if (timer) clearInterval(timer);
    timer = undefined;
    process.send?.({ commits, storedPerS: stored / ((performance.now() - startedAt) / 1000) });
  }
});
process.send?.({ port: gw.port, machines: ids.length, types });
process.on('SIGTERM', () => {
  void gw.stop().then(() => process.exit(0));
});
