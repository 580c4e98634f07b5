// node --import tsx bench/ab-reads.ts <path> [pairs]: an A/B of one read between this tree's gateway
// (A) and BENCH_COMPARE_ROOT's (B, another checkout with dist/ built), pinned as in http-reads.ts:
// both servers on CPU 1, autocannon on CPU 0, slices of BENCH_AB_SLICE_S (1.5 s) taking turns, the
// order flipped every pair. It prints each pair's CPU µs per request and the geometric mean of
// A ÷ B: the box's load moves between pairs, but hits both halves of a pair alike. Two identical
// builds gave 1.003 (pairs 0.92–1.12) on the shared 2-core VM (docs/benchmarks.md, issue 24).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { load, startChild, stopChild } from './lib.ts';
import type { ReadsGateway } from './http-reads.ts';
import { BUILD } from './product.ts';

const [route = '/auth/me', pairsArg = '10'] = process.argv.slice(2);
const root = process.env.BENCH_COMPARE_ROOT;
if (!root) {
  process.stderr.write('set BENCH_COMPARE_ROOT to another checkout with dist/ built\n');
  process.exit(2);
}
const slice = Number(process.env.BENCH_AB_SLICE_S ?? 1.5);
const env = { BENCH_WORK_ORDERS: process.env.BENCH_WORK_ORDERS ?? '10000' };
const args = ['--max-old-space-size=128', '--max-semi-space-size=4'];
const a = await startChild<ReadsGateway>('gateway.ts', env, args);
const b = await startChild<ReadsGateway>(path.join(path.resolve(root), 'bench', 'servers', 'gateway.ts'), env, args);
const pin = (pid: number | undefined, cpu: string) => spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' }).status === 0;
const pinned = pin(a.child.pid, '1') && pin(b.child.pid, '1') && pin(process.pid, '0');
const target = (gw: ReadsGateway) => ({
  url: `http://127.0.0.1:${gw.port}${route.replace('{id}', String(gw.woId))}`,
  headers: { authorization: `Bearer ${gw.token}` },
});
const measure = async (gw: { child: { pid?: number | undefined }; ready: ReadsGateway }) =>
  (await load({ ...target(gw.ready), duration: slice }, gw.child.pid)).cpuUsPerReq ?? Number.NaN;
process.stdout.write(`A/B ${route}: A = this tree (${BUILD}), B = ${root}; ${pinned ? 'pinned' : 'NOT pinned'}, slices of ${slice} s\n`);
try {
  await load({ ...target(a.ready), duration: 2 });
  await load({ ...target(b.ready), duration: 2 });
  const ratios: number[] = [];
  for (let i = 0; i < Number(pairsArg); i++) {
    const [ua, ub] = i % 2 === 0 ? [await measure(a), await measure(b)] : [await measure(b), await measure(a)].reverse();
    ratios.push((ua as number) / (ub as number));
    process.stdout.write(`pair ${i + 1}: A ${(ua as number).toFixed(1)} µs, B ${(ub as number).toFixed(1)} µs, A/B ${(ratios.at(-1) as number).toFixed(3)}\n`);
  }
  const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  const sorted = [...ratios].sort((x, y) => x - y);
  process.stdout.write(`A ÷ B, CPU per request: geometric mean ${geo.toFixed(3)}, pairs ${sorted[0]?.toFixed(3)}–${sorted.at(-1)?.toFixed(3)}\n`);
} finally {
  await stopChild(a.child);
  await stopChild(b.child);
}
process.exit(0);
