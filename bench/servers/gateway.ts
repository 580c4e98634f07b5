// The gateway as deployed (production settings, info logs), on a database of BENCH_WORK_ORDERS
// work orders (4 stages each). Sends {port, token, woId, stageIds, machineId} when ready.
import { startBenchGateway } from './bench-gateway.ts';
import { acceptProfileRequests } from '../profiling.ts';
import { applyCapture } from '../capture.ts';
import { product } from '../product.ts';

const { createUser } = await product<typeof import('../../src/modules/auth/service.ts')>('src/modules/auth/service');
const { createMachine } = await product<typeof import('../../src/modules/machines/service.ts')>('src/modules/machines/service');
const { createWorkOrder } = await product<typeof import('../../src/modules/workorders/service.ts')>('src/modules/workorders/service');

const count = Number(process.env.BENCH_WORK_ORDERS ?? 10_000);
const { gw } = await startBenchGateway('gw-bench-', 'info');
const ctx = gw.ctx;
const planner = await createUser(ctx, { username: 'bench-planner', password: 'bench-planner-pw', role: 'planner' });
const actor = { userId: planner.id, role: 'planner' as const };
const day = 86_400_000;
const t0 = Date.UTC(2026, 0, 1, 6);
const stageIds: number[] = [];
let woId = 0;
// One outer transaction (savepoints inside): seeding 10,000 orders should not take 10,000 fsyncs.
ctx.store.commandNow((tx) => {
  for (let i = 0; i < count; i++) {
    const start = t0 + (i % 365) * day + (i % 17) * 3600_000;
    const wo = createWorkOrder(ctx, tx, actor, {
      product_code: `P-${i % 50}`,
      lot_no: `LOT-${i}`,
      qty: 10 + (i % 90),
      planned_start: start,
      planned_end: start + 8 * 3600_000,
    });
    if (i === Math.floor(count / 2)) woId = wo.id;
    for (const s of wo.stages) stageIds.push(s.id);
  }
});
const machine = ctx.store.commandNow((tx) => createMachine(ctx, tx, undefined, { name: 'bench-machine', machine_type: 'press' }));
const res = await fetch(`http://127.0.0.1:${gw.port}/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'bench-planner', password: 'bench-planner-pw' }),
});
const token = ((await res.json()) as { data: { access_token: string } }).data.access_token;
acceptProfileRequests(process.env.BENCH_CPU_PROF);
process.send?.({ port: gw.port, token, woId, stageIds, machineId: machine.id });
// The writes bench switches change capture between runs: {capture: {mqtt, sync}} → {captured: true}.
process.on('message', (m: { capture?: { mqtt: boolean; sync: boolean } }) => {
  if (!m.capture) return;
  applyCapture(ctx.store.sqlite, m.capture);
  process.send?.({ captured: true });
});
process.on('SIGTERM', () => {
  void gw.stop().then(() => process.exit(0));
});
