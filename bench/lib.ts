import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

export const BENCH_DIR = import.meta.dirname;
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/**
 * Forks a helper under tsx (or, with `tsx: false`, a JavaScript one under plain node); resolves
 * with the first IPC message (its "ready" payload). `script` is under bench/servers/ unless absolute.
 */
export function startChild<T>(
  script: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  opts: { tsx?: boolean } = {},
): Promise<{ child: ChildProcess; ready: T }> {
  const child = fork(path.resolve(BENCH_DIR, 'servers', script), [], {
    // BENCH_CHILD_PROFILE=1 writes a CPU profile of every child's whole life to /tmp/prof; BENCH_CPU_PROF
    // (below, `profiled`) profiles only the measurements.
    execArgv: [
      ...(opts.tsx === false ? [] : ['--import', 'tsx']),
      ...(process.env.BENCH_CHILD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      ...nodeArgs,
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as T }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** The next IPC message from `child` that has `key`. */
function messageWith(child: ChildProcess, key: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (msg: unknown) => {
      if (msg && typeof msg === 'object' && key in msg) {
        child.off('message', on);
        resolve(msg as Record<string, unknown>);
      }
    };
    child.on('message', on);
  });
}

/**
 * Runs `measure` while `child` records a CPU profile, when BENCH_CPU_PROF names a directory and the
 * child calls acceptProfileRequests (bench/profiling.ts); otherwise just runs it.
 */
export async function profiled<T>(child: ChildProcess, name: string, measure: () => Promise<T>): Promise<T> {
  if (!process.env.BENCH_CPU_PROF) return measure();
  const started = messageWith(child, 'profiling');
  child.send({ profile: 'start' });
  await started;
  try {
    return await measure();
  } finally {
    const written = messageWith(child, 'profiled');
    child.send({ profile: 'stop', name: name.replace(/[^A-Za-z0-9._-]+/g, '_') });
    process.stdout.write(`cpu profile: ${String((await written).profiled)}\n`);
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

export interface HttpFigures {
  /** Requests answered over the run's measured duration. */
  rps: number;
  /** CPU time (user + system) the server process spent per request, when its pid was given. */
  cpuUsPerReq?: number;
  p50: number;
  p99: number;
  errors: number;
  /** Requests answered 2xx over the whole run. */
  ok: number;
}

/** Runs autocannon; with `serverPid`, also the CPU the server spent per request (from /proc). */
export async function load(opts: autocannon.Options, serverPid?: number): Promise<HttpFigures> {
  const before = serverPid === undefined ? undefined : procStats(serverPid);
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
  const after = serverPid === undefined ? undefined : procStats(serverPid);
  return {
    rps: result.duration > 0 ? result.requests.total / result.duration : 0,
    ...(before && after && result.requests.total > 0 ? { cpuUsPerReq: ((after.cpuS - before.cpuS) * 1e6) / result.requests.total } : {}),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    ok: result['2xx'],
  };
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export function procStats(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuS: ticks / 100, rssMb: (rssPages * 4096) / 1024 / 1024 };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  process.stdout.write(`\n## ${title}\n`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? fmt(r[c] as number, Math.abs(r[c] as number) < 10 ? 2 : 0) : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  process.stdout.write(`${cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of cells) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
}

export const pct = (a: number, b: number) => `${b > 0 ? ((100 * a) / b).toFixed(1) : '—'}%`;
