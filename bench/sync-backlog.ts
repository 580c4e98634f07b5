// npm run bench -- sync-backlog (or node --import tsx bench/sync-backlog.ts): a box that stored
// SYNC_BACKLOG_READINGS readings (5,000,000) while sync was off starts the real gateway with
// HQ_DATABASE_URL set, as `npm start` runs it (node --max-old-space-size=128
// --max-semi-space-size=4 bin/gateway.js serve): capture turns on, the whole history is enqueued
// (the first snapshot) and drained into a scratch PostgreSQL database as the site's own role.
// Meanwhile it samples the gateway's RSS from /proc/<pid>/status and asks GET /health, GET
// /sync/status and GET /workorders?limit=50 one after another, and prints peak RSS, snapshot and
// drain time, rows/s and the API's p50/p99 next to the targets (RSS < 200 MB, p99 < 100 ms).
// PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL, else 127.0.0.1:5432 as the current user;
// the database bench_backlog_<pid> and its site role are dropped at the end. Nothing here asserts.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openStore } from '../src/db/store.ts';
import { migrateHq } from '../sync/hq/migrate.ts';
import { createHqPool } from '../sync/hq/pool.ts';
import { addSite, siteUrl } from '../sync/hq/sites.ts';
import { freePort } from '../test/helpers/server.ts';
import { printTable } from './lib.ts';
import { buildDist } from './product.ts';

const READINGS = Number(process.env.SYNC_BACKLOG_READINGS ?? 5_000_000);
const ADMIN = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? `postgres://${userInfo().username}@127.0.0.1:5432/test`;
const ROOT = path.join(import.meta.dirname, '..');
/** The V8 flags `npm start` ships (package.json). */
const SHIPPED_FLAGS = ['--max-old-space-size=128', '--max-semi-space-size=4'];
const SITE = 1;
const ADMIN_PASSWORD = 'bench-admin-password';
const T0 = Date.now() - 30 * 86_400_000;

/** Readings as a box stores them: 5,000 per transaction, spread over 20 machines and the last 30 days. */
function fillReadings(file: string, n: number): void {
  const store = openStore(file, SITE);
  try {
    const put = store.sqlite.prepare(
      "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, ?, 'temperature', ?, 'celsius', 'good', NULL, ?, ?)",
    );
    const step = (30 * 86_400_000) / n;
    for (let done = 0; done < n; done += 5000) {
      const size = Math.min(5000, n - done);
      store.commandNow(() => {
        const first = store.ids.block('machine_readings', size);
        for (let i = 0; i < size; i++) {
          const at = Math.round(T0 + (done + i) * step);
          put.run(first + i, 1 + ((done + i) % 20), 20 + ((done + i) % 50) / 10, at, at);
        }
      });
    }
  } finally {
    store.close();
  }
}

/** VmRSS and VmHWM (the kernel's own peak) of a process, in MB. */
function rss(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0);
};

async function timed(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; ok: boolean; body: unknown }> {
  const t = performance.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    const body = await res.json();
    return { ms: performance.now() - t, ok: res.ok, body };
  } catch {
    return { ms: performance.now() - t, ok: false, body: undefined };
  }
}

function startGateway(dbFile: string, dir: string, port: number, hqUrl: string): ChildProcess {
  const child = spawn(process.execPath, [...SHIPPED_FLAGS, path.join(ROOT, 'bin', 'gateway.js'), 'serve'], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      NODE_ENV: 'production',
      SITE_ID: String(SITE),
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
      DATABASE_PATH: dbFile,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      CONFIG_DIR: path.join(dir, 'config'),
      ADMIN_PASSWORD,
      HQ_DATABASE_URL: hqUrl,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`gateway exited ${code ?? signal}: ${err}\n`);
  });
  return child;
}

export async function benchSyncBacklog(): Promise<void> {
  const db = `bench_backlog_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    process.stdout.write(`sync backlog bench skipped: no PostgreSQL at ${new URL(ADMIN).host} (${(err as Error).message})\n`);
    return;
  }
  buildDist();
  await admin.query(`CREATE DATABASE ${db}`);
  const u = new URL(ADMIN);
  u.pathname = `/${db}`;
  const owner = createHqPool({ url: u.toString(), schema: 'public', max: 2 });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-backlog-'));
  let child: ChildProcess | undefined;
  try {
    await migrateHq(owner, 'public');
    const role = await addSite(owner, 'public', SITE, 'bench-backlog-site-password');
    const hq = new URL(siteUrl(u.toString(), role));
    hq.password = 'bench-backlog-site-password';

    const dbFile = path.join(dir, 'gateway.db');
    let t = performance.now();
    fillReadings(dbFile, READINGS);
    process.stdout.write(
      `sync backlog bench: ${READINGS.toLocaleString('en-US')} readings stored with sync off in ${((performance.now() - t) / 1000).toFixed(0)} s; starting the gateway with HQ_DATABASE_URL (${SHIPPED_FLAGS.join(' ')})\n`,
    );

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const started = performance.now();
    child = startGateway(dbFile, dir, port, hq.toString());
    const pid = child.pid ?? 0;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(pid).rss);
    }, 100);
    // Start-up: migrations and the initial admin; the snapshot is enqueued while the API answers.
    while (child.exitCode === null && !(await timed(`${base}/health`)).ok) await new Promise((r) => setTimeout(r, 50));
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} before /health answered`);
    const listening = performance.now();
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    const auth = { authorization: `Bearer ${token}` };
    const times = { health: [] as number[], status: [] as number[], workorders: [] as number[] };
    let errors = 0;
    let drained: number | undefined;
    let maxBacklog = 0;
    t = performance.now();
    while (drained === undefined && child.exitCode === null) {
      const h = await timed(`${base}/health`);
      const s = await timed(`${base}/sync/status`, auth);
      const w = await timed(`${base}/workorders?limit=50`, auth);
      times.health.push(h.ms);
      times.status.push(s.ms);
      times.workorders.push(w.ms);
      errors += [h, s, w].filter((r) => !r.ok).length;
      const st = (s.body as { data?: { backlog: number; last_push_at: string | null } } | undefined)?.data;
      if (st) maxBacklog = Math.max(maxBacklog, st.backlog);
      if (st && st.backlog === 0 && st.last_push_at !== null) drained = performance.now();
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(sampler);
    const mem = rss(pid);
    if (drained === undefined) throw new Error(`the gateway exited with ${child.exitCode} during the drain`);
    const atHq = Number((await owner.query<{ n: string }>('SELECT count(*) AS n FROM machine_readings WHERE site_id = $1', [SITE])).rows[0]?.n);
    const startS = (listening - started) / 1000;
    const drainS = (drained - listening) / 1000;
    printTable(`Backlog of ${READINGS.toLocaleString('en-US')} readings stored with sync off, first start with HQ_DATABASE_URL, npm start's heap settings`, [
      { figure: 'peak RSS (VmHWM; sampled VmRSS peak)', value: `${mem.hwm.toFixed(0)} MB (${peak.toFixed(0)} MB)`, target: '< 200 MB' },
      { figure: 'start-up to /health (migrations, initial admin)', value: `${startS.toFixed(1)} s`, target: '—' },
      { figure: 'snapshot enqueued and drained, after /health answered', value: `${drainS.toFixed(1)} s`, target: '—' },
      { figure: 'readings/s over that time', value: Math.round(atHq / drainS), target: '—' },
      { figure: 'largest backlog GET /sync/status showed', value: maxBacklog, target: '—' },
      { figure: 'readings at HQ', value: atHq, target: String(READINGS) },
      ...(['health', 'status', 'workorders'] as const).map((k) => ({
        figure: `${k === 'health' ? 'GET /health' : k === 'status' ? 'GET /sync/status (admin)' : 'GET /workorders?limit=50 (admin)'}: p50 / p99 / max (n = ${times[k].length})`,
        value: `${percentile(times[k], 0.5).toFixed(1)} / ${percentile(times[k], 0.99).toFixed(1)} / ${Math.max(...times[k]).toFixed(0)} ms`,
        target: 'p99 < 100 ms',
      })),
      { figure: 'failed requests', value: String(errors), target: '0' },
    ]);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await owner.end();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    const roles = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${db}\\_site\\_%`]);
    for (const r of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchSyncBacklog();
