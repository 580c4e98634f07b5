// The HTTP read section of `npm run bench`: raw node:http, bare Hono and the gateway's hot reads,
// measured pinned (issue 24). On a 2-core box a load generator that shares the server's core makes
// the ratio measure the scheduler more than the server, so each server runs alone on CPU 1 and the
// load generator (autocannon, one thread, in this process) alone on CPU 0. The figure that matters
// is CPU time per request of the server process (user + system, /proc), much less sensitive to a
// neighbour's load than req/s; the ratio is raw node:http's µs per request over the server's.
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DURATION_S, type HttpFigures, load, printTable, profiled, startChild, stopChild } from './lib.ts';

/** What bench/servers/gateway.ts reports when ready (the fields used here). */
export interface ReadsGateway {
  port: number;
  token: string;
  woId: number;
}

/** Slices per endpoint: the raw ceiling and the endpoint take turns, so a neighbour's load hits both alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SERVER_CPU = '1';
const LOAD_CPU = '0';

/** Pins every thread of `pid` to `cpus` (taskset's list syntax); false when taskset is missing or refuses. */
function pin(pid: number | undefined, cpus: string): boolean {
  if (pid === undefined) return false;
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

/** Why the run is not pinned, or undefined when it can be (BENCH_PIN=0 turns pinning off). */
function noPinning(): string | undefined {
  if (process.env.BENCH_PIN === '0') return 'BENCH_PIN=0';
  if (availableParallelism() < 2) return 'fewer than 2 CPUs';
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return 'taskset not found (util-linux)';
  return undefined;
}

/** The best of several slices: the lowest CPU per request and the highest rate (a neighbour only ever slows a slice down). */
function best(runs: HttpFigures[]): HttpFigures & { cpuUsPerReq: number } {
  const cpu = Math.min(...runs.map((r) => r.cpuUsPerReq ?? Number.POSITIVE_INFINITY));
  return {
    rps: Math.max(...runs.map((r) => r.rps)),
    cpuUsPerReq: Number.isFinite(cpu) ? cpu : 0,
    p50: Math.min(...runs.map((r) => r.p50)),
    p99: Math.min(...runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    ok: runs.reduce((a, r) => a + r.ok, 0),
  };
}

const ratio = (n: number) => (Number.isFinite(n) && n > 0 ? n.toFixed(2) : '—');

/**
 * Measures the reads against raw node:http and bare Hono started here, and the gateway child
 * `gateway` (started by the caller with npm start's V8 flags, production settings, info log).
 */
export async function benchHttpReads(gw: ReadsGateway, gateway: ChildProcess, start: { env: Record<string, string>; nodeArgs: string[] }): Promise<void> {
  const raw = await startChild<{ port: number }>('raw-http.ts');
  const bare = await startChild<{ port: number }>('bare-hono.ts');
  // BENCH_COMPARE_ROOT=<another checkout, built>: its gateway answers the same reads in the same
  // turns, a fair before → after on a box whose load moves more between runs than a change does.
  const root = process.env.BENCH_COMPARE_ROOT;
  const other = root ? await startChild<ReadsGateway>(path.join(path.resolve(root), 'bench', 'servers', 'gateway.ts'), start.env, start.nodeArgs) : undefined;
  const why = noPinning();
  const servers = [raw.child.pid, bare.child.pid, gateway.pid, ...(other ? [other.child.pid] : [])];
  const pinned = why === undefined && servers.every((p) => pin(p, SERVER_CPU)) && pin(process.pid, LOAD_CPU);
  process.stdout.write(
    pinned
      ? `\nHTTP reads pinned: each server alone on CPU ${SERVER_CPU}, the load generator (autocannon, one thread, 32 connections) on CPU ${LOAD_CPU}\n`
      : `\nHTTP reads NOT pinned (${why ?? 'taskset failed'}): the load generator shares the servers' cores, so the ratios read low\n`,
  );
  const auth = { authorization: `Bearer ${gw.token}` };
  const base = `http://127.0.0.1:${gw.port}`;
  const slice = DURATION_S / ROUNDS;
  const rawOpts = { url: `http://127.0.0.1:${raw.ready.port}/` };
  const rows: Array<Record<string, string | number>> = [];
  try {
    await load({ ...rawOpts, duration: 1 }); // warm-up, not counted
    const targets: Array<{ name: string; opts: { url: string; headers?: Record<string, string> }; target?: number; server: ChildProcess }> = [
      { name: 'bare Hono hello (the framework floor)', opts: { url: `http://127.0.0.1:${bare.ready.port}/` }, server: bare.child },
      ...(
        [
          ['gateway GET /auth/me', '/auth/me', 0.6],
          ['gateway GET /workorders/{id}', `/workorders/${gw.woId}`, 0.5],
          ['gateway GET /workorders?limit=50', '/workorders?limit=50', 0.25],
          ['gateway GET /workorders/{id}/stages', `/workorders/${gw.woId}/stages`, undefined],
        ] as const
      ).flatMap(([name, url, target]) => [
        { name, opts: { url: `${base}${url}`, headers: auth }, target, server: gateway },
        ...(other
          ? [
              {
                name: `${name} (${root})`,
                opts: {
                  url: `http://127.0.0.1:${other.ready.port}${url.replace(String(gw.woId), String(other.ready.woId))}`,
                  headers: { authorization: `Bearer ${other.ready.token}` },
                },
                target,
                server: other.child,
              },
            ]
          : []),
      ]),
    ];
    const rawRuns: HttpFigures[] = [];
    for (const { name, opts, target, server } of targets) {
      await load({ ...opts, duration: 1 }); // warm-up, not counted
      const ceiling: HttpFigures[] = [];
      const runs: HttpFigures[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        ceiling.push(await load({ ...rawOpts, duration: slice }, raw.child.pid));
        const measure = () => load({ ...opts, duration: slice }, server.pid);
        runs.push(server === gateway ? await profiled(gateway, `${name}-${i}`, measure) : await measure());
      }
      rawRuns.push(...ceiling);
      const c = best(ceiling);
      const r = best(runs);
      const cpuRatio = c.cpuUsPerReq / r.cpuUsPerReq;
      rows.push({
        server: name,
        'req/s': r.rps,
        'CPU µs/req': r.cpuUsPerReq,
        'raw µs/req (same turns)': c.cpuUsPerReq,
        'of raw (CPU)': ratio(cpuRatio),
        'of raw (req/s)': ratio(r.rps / c.rps),
        target: target === undefined ? '—' : `≥ ${target.toFixed(2)}`,
        met: target === undefined ? '—' : cpuRatio >= target ? 'yes' : 'no',
        'p99 ms': r.p99,
        errors: r.errors + c.errors,
      });
    }
    const all = best(rawRuns);
    rows.unshift({
      server: 'raw node:http hello (the ceiling)',
      'req/s': all.rps,
      'CPU µs/req': all.cpuUsPerReq,
      'raw µs/req (same turns)': '—',
      'of raw (CPU)': '1.00',
      'of raw (req/s)': '1.00',
      target: '—',
      met: '—',
      'p99 ms': all.p99,
      errors: all.errors,
    });
  } finally {
    if (pinned) {
      // The other sections run unpinned, as before.
      const every = `0-${availableParallelism() - 1}`;
      pin(process.pid, every);
      pin(gateway.pid, every);
    }
    await stopChild(raw.child);
    await stopChild(bare.child);
    if (other) await stopChild(other.child);
  }
  printTable(
    `HTTP reads, best of ${ROUNDS} slices of ${slice} s each, taking turns with raw node:http (targets on CPU µs per request: raw's µs / the server's)`,
    rows,
  );
}
