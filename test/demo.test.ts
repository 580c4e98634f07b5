import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.ts';
import { freePort, loginOverHttp, until } from './helpers/server.ts';

interface Machine {
  name: string;
  status: string;
  latest: Record<string, { value: number | null; quality: string }>;
}

describe('npm run demo', () => {
  it('starts from nothing, serves live readings of the simulated PLCs, and cleans up on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/sim/demo.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let dataDir = '';
    try {
      await until(() => out.includes('demo ready') || child.exitCode !== null, 100_000, 100);
      expect(out).toContain('demo ready');
      const password = /^\s+planner1\s+planner\s+(\S+)$/m.exec(out)?.[1] ?? '';
      dataDir = /data folder \(deleted on exit\): (\S+)/.exec(out)?.[1] ?? '';
      expect(existsSync(dataDir)).toBe(true);
      const base = `http://127.0.0.1:${port}`;
      const token = await loginOverHttp(base, 'planner1', password);
      let machines: Machine[] = [];
      const live = (name: string, type: string) => machines.find((m) => m.name === name)?.latest[type]?.quality === 'good';
      await until(
        async () => {
          const res = await fetch(`${base}/machines`, { headers: { authorization: `Bearer ${token}` } });
          machines = ((await res.json()) as { data: Machine[] }).data;
          const ovenRunning = machines.find((m) => m.name === 'oven-01')?.status === 'running';
          return live('press-01', 'pressure') && live('cnc-02', 'spindle_speed') && live('oven-01', 'temperature') && ovenRunning;
        },
        60_000,
        250,
      );
      expect(machines.find((m) => m.name === 'oven-01')?.latest.temperature?.value).toBeGreaterThan(100);

      // The printed walk-through works as printed: worker1 takes their first stage through its life.
      const worker = await loginOverHttp(base, 'worker1', /"username":"worker1","password":"([^"]+)"/.exec(out)?.[1] ?? '');
      const stage = /\/stages\/(\d+)\/start/.exec(out)?.[1];
      const act = (action: string, body?: unknown) =>
        fetch(`${base}/stages/${stage}/${action}`, {
          method: 'POST',
          headers: body === undefined ? { authorization: `Bearer ${worker}` } : { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      for (const [action, body] of [['start'], ['pause', { reason: 'material' }], ['resume'], ['done', { qty_good: 98, qty_scrap: 2 }]] as const) {
        expect((await act(action, body)).status).toBe(200);
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // After a failure the demo had no chance to delete its folder.
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
