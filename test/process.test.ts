import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startServe } from './helpers/child.ts';
import { freePort } from './helpers/server.ts';

// Each test starts the gateway as a process, several times over: a loaded CI machine needs far
// longer than the in-process tests' 30 s (nothing here measures speed).
const SLOW = { timeout: 120_000 };

let dir: string;
let env: Record<string, string>;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-proc-'));
  env = { NODE_ENV: 'development', DATABASE_PATH: path.join(dir, 'g.db'), LOG_LEVEL: 'info', CONFIG_DIR: path.join(dir, 'config'), SITE_ID: '3' };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the gateway command', SLOW, () => {
  it('migrates, creates users with generated or piped passwords, and refuses bad arguments', () => {
    expect(runCli(['migrate'], env).stdout).toContain('migrations applied');
    const generated = runCli(['user', 'create', '--username', 'lead', '--role', 'planner'], env);
    expect(generated.status).toBe(0);
    expect(generated.stdout).toMatch(/created user lead \(id \d+, role planner\)/);
    expect(generated.stdout).toMatch(/password: \S{24}/);
    const piped = runCli(['user', 'create', '--username', 'press1', '--role', 'machine', '--password-stdin'], env, 'piped-password-123\n');
    expect(piped.status).toBe(0);
    expect(piped.stdout).not.toContain('password:');
    const db = new Sqlite(env.DATABASE_PATH ?? '', { readonly: true });
    const rows = db.prepare('SELECT id, username, role FROM users ORDER BY id').all() as Array<{ id: number; role: string }>;
    db.close();
    expect(rows.map((r) => r.role)).toEqual(['planner', 'machine']);
    // Site 3's range: 3 × 2^40 + n.
    expect(Math.floor((rows[0]?.id ?? 0) / 2 ** 40)).toBe(3);
    const badRole = runCli(['user', 'create', '--username', 'x1x', '--role', 'king'], env);
    expect(badRole.status).toBe(1);
    expect(badRole.stderr).toContain('--role');
    expect(runCli(['user', 'create', '--username', 'lead', '--role', 'worker'], env).stderr).toContain('taken');
  });

  it('stops on a bad config value with one line naming the key', () => {
    const res = runCli(['migrate'], { ...env, PORT: 'eighty' });
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('PORT');
    const site = runCli(['migrate'], { ...env, SITE_ID: '1024' });
    expect(site.stderr).toContain('SITE_ID');
  });

  it('refuses to start in production with a missing, short or sample JWT secret', () => {
    const prod = { ...env, NODE_ENV: 'production', SITE_ID: '2' };
    expect(runCli(['serve'], prod).stderr).toContain('JWT_SECRET');
    expect(runCli(['serve'], { ...prod, JWT_SECRET: 'short' }).stderr).toContain('JWT_SECRET');
    const sample = runCli(['serve'], { ...prod, JWT_SECRET: 'change-me-to-a-random-string-of-at-least-32-bytes' });
    expect(sample.status).toBe(1);
    expect(sample.stderr).toContain('sample');
  });

  it('refuses a database created for another site', () => {
    runCli(['migrate'], env);
    const res = runCli(['migrate'], { ...env, SITE_ID: '4' });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('belongs to site 3');
  });

  it('seeds demo data only when asked, printing generated passwords', () => {
    const res = runCli(['seed'], env);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/worker1\s+worker\s+\S{24}/);
    const db = new Sqlite(env.DATABASE_PATH ?? '', { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM work_orders').get() as { n: number }).n).toBe(3);
    db.close();
  });
});

describe('durability', SLOW, () => {
  it('keeps every acknowledged registration across a SIGKILL', async () => {
    const port = await freePort();
    // Writes must still be in flight at the kill: lift the per-address registration limit.
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), 'auth:\n  register_max_per_ip: 10000\n');
    const { child } = await startServe({ ...env, PORT: String(port), HOST: '127.0.0.1' });
    const acknowledged: string[] = [];
    // SIGKILL lands while registrations are in flight, once a few were acknowledged (however
    // slowly a loaded machine hashes passwords), rather than after a fixed delay.
    let enough: () => void = () => {};
    const someAcknowledged = new Promise<void>((resolve) => {
      enough = resolve;
    });
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const username = `user-${w}-${i}`;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/auth/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username, password: 'durable-password' }),
          });
          if (res.status === 201) acknowledged.push(username);
          if (acknowledged.length >= 8) enough();
        } catch {
          return;
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await someAcknowledged;
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(8);
    const db = new Sqlite(env.DATABASE_PATH ?? '');
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const names = new Set((db.prepare('SELECT username FROM users').all() as Array<{ username: string }>).map((r) => r.username));
    db.close();
    expect(acknowledged.filter((u) => !names.has(u))).toEqual([]);
  });
});

describe('logging and shutdown', SLOW, () => {
  it('writes JSON lines to LOG_FILE, redacts secrets, and stops cleanly on SIGTERM', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const port = await freePort();
    const logDir = path.join(dir, 'logs');
    const { child, output } = await startServe({
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_FILE: path.join(logDir, 'gateway.log'),
      ADMIN_PASSWORD: 'a-long-admin-password',
    });
    const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-test-1' },
      body: JSON.stringify({ username: 'admin', password: 'a-long-admin-password' }),
    });
    expect(res.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const files = readdirSync(logDir);
    expect(files.length).toBeGreaterThan(0);
    const lines = files.flatMap((f) => readFileSync(path.join(logDir, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l));
    expect(lines).toEqual(
      expect.arrayContaining([expect.objectContaining({ msg: 'request', request_id: 'log-test-1', method: 'POST', path: '/auth/login', status: 200 })]),
    );
    expect(lines.find((l) => l.msg === 'request' && l.request_id === 'log-test-1')?.user_id).toBeUndefined();
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    const everything = files.map((f) => readFileSync(path.join(logDir, f), 'utf8')).join('') + output();
    expect(everything).not.toContain('a-long-admin-password');
  });
});
