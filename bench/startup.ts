// npm run bench:startup: start-up time and idle RSS of the gateway run as compiled JavaScript
// (dist/, what npm start and the image run) against the TypeScript sources through tsx (what
// npm start ran before). Each start gets a copy of one migrated database that already has its
// admin, so the figures hold no migration and no password hashing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/server.ts';
import { printTable, procStats } from './lib.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_STARTS ?? 5);
const IDLE_MS = 3000;

const variants = [
  { name: 'compiled (node dist/src/cli.js)', args: [path.join(ROOT, 'dist', 'src', 'cli.js'), 'serve'] },
  { name: 'tsx (node --import tsx src/cli.ts)', args: ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'serve'] },
];

const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-start-'));
const template = path.join(dir, 'template.db');
const env = { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn', CONFIG_DIR: path.join(dir, 'config'), JWT_SECRET: 'x'.repeat(48) };

function prepare(): void {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'build.js')], { stdio: 'inherit' });
  const user = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'gateway.js'), 'user', 'create', '--username', 'admin', '--role', 'admin'], {
    env: { ...env, DATABASE_PATH: template },
    encoding: 'utf8',
  });
  if (build.status !== 0 || user.status !== 0) throw new Error(`preparing the database failed: ${user.stderr}`);
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  while (child.exitCode === null) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`the gateway exited with ${child.exitCode}`);
}

async function once(args: string[], run: number): Promise<{ startMs: number; rssMb: number }> {
  const db = path.join(dir, `run-${run}.db`);
  copyFileSync(template, db);
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { ...env, DATABASE_PATH: db, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore' });
  await waitReady(port, child);
  const startMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const { rssMb } = procStats(child.pid ?? 0);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { startMs, rssMb };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

prepare();
process.stdout.write(`start-up to a 200 from /ready and RSS after ${IDLE_MS / 1000} s idle — node ${process.version}, median of ${RUNS}\n`);
// Alternating the variants spreads the load of a shared machine evenly over both.
const results = variants.map(() => [] as Array<{ startMs: number; rssMb: number }>);
for (let i = 0; i < RUNS; i++) {
  for (const [k, v] of variants.entries()) results[k]?.push(await once(v.args, i * variants.length + k));
}
printTable(
  'Start-up',
  variants.map((v, k) => ({
    run: v.name,
    'start-up ms': Math.round(median((results[k] ?? []).map((r) => r.startMs))),
    'idle RSS MB': Math.round(median((results[k] ?? []).map((r) => r.rssMb))),
  })),
);
rmSync(dir, { recursive: true, force: true });
