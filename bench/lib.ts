import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

export const BENCH_DIR = import.meta.dirname;
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** Forks a TypeScript helper; resolves with the first IPC message (its "ready" payload). */
export function startChild<T>(script: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<{ child: ChildProcess; ready: T }> {
  const child = fork(path.join(BENCH_DIR, 'servers', script), [], {
    // BENCH_CHILD_PROFILE=1 writes a CPU profile of every child to /tmp/prof (for investigations).
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), ...nodeArgs],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as T }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
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
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Requests answered 2xx over the whole run. */
  ok: number;
}

export async function load(opts: autocannon.Options): Promise<HttpFigures> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts });
  return {
    rps: result.requests.average,
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
