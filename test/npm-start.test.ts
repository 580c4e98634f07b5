import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.ts';
import { freePort } from './helpers/server.ts';

/** Parent pid of every process, from /proc (Linux). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in parentheses may hold spaces; the fields after it do not.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(Number(name), ppid);
    } catch {
      // The process ended while we read.
    }
  }
  return map;
}

function descendants(pid: number): number[] {
  const byParent = parents();
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const [child, parent] of byParent) {
      if (parent === next) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once GET /ready answers 200 (the server is up and migrated). */
async function waitReady(port: number, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!done) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('npm start exited before the gateway was ready');
}

let dir: string;
let started: number[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-npm-start-'));
  started = [];
});
afterEach(() => {
  // A failed run must not leave a gateway serving on the machine.
  for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `npm start` in `cwd` with a database and config of this test's own and resolves once it
 * is ready; `output()` is what it printed, `exited` its exit code.
 */
async function npmStart(cwd: string) {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_PATH: path.join(dir, 'gateway.db'),
      CONFIG_DIR: path.join(dir, 'config'),
      ADMIN_PASSWORD: 'an-admin-password-for-this-test',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (c) => {
    output += c;
  });
  npm.stderr.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  const pid = npm.pid;
  if (pid === undefined) throw new Error('npm did not start');
  started = [pid];
  try {
    await waitReady(port, exited);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { npm, pid, port, exited, output: () => output };
}

// npm, then node, start as processes: allow a loaded CI machine time (nothing here measures speed).
describe.skipIf(process.platform !== 'linux')('npm start', { timeout: 120_000 }, () => {
  it("on a fresh clone (no dist/) builds outside the daemon's heap cap, then serves", async () => {
    // A checkout as `git clone && npm ci` leaves it: sources, no dist/. node_modules is linked,
    // not reinstalled; the build writes dist/ into the copy only.
    const clone = path.join(dir, 'clone');
    for (const name of ['bin', 'src', 'drivers', 'sync', 'migrations', 'config', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(path.join(ROOT, name), path.join(clone, name), { recursive: true });
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
    const { npm, pid, exited, output } = await npmStart(clone);
    started = [pid, ...descendants(pid)];
    expect(output()).toContain('building dist/');
    expect(existsSync(path.join(clone, 'dist', 'src', 'cli.js'))).toBe(true);
    npm.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves until SIGTERM reaches npm, then stops serving and leaves no gateway process behind', async () => {
    const { npm, pid, port, exited, output } = await npmStart(ROOT);
    started = descendants(pid);
    expect(started.length).toBeGreaterThan(0);
    npm.kill('SIGTERM');
    expect(await exited).toBe(0);

    const answer = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => `HTTP ${r.status}`,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(answer).toBe('ECONNREFUSED');
    expect(started.filter(alive)).toEqual([]);
    expect(output()).toContain('"msg":"stopped"');
  });
});
