import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.ts';
import { freePort, loginOverHttp, until } from './helpers/server.ts';

interface Machine {
  name: string;
  status: string;
  latest: Record<string, { value: number | null; quality: string }>;
}

interface Demo {
  child: ChildProcessByStdio<null, Readable, Readable>;
  output: () => string;
  exited: Promise<number | null>;
  base: string;
  port: number;
  dataDir: string;
  /** XDG_CONFIG_HOME of the demo: where node-opcua keeps certificates it is given no folder for (~/.config). */
  userConfig: string;
}

/** Starts `npm run demo`'s script on a free port and waits until it says it is ready. */
async function startDemo(): Promise<Demo> {
  const port = await freePort();
  const userConfig = mkdtempSync(path.join(tmpdir(), 'demo-user-config-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/sim/demo.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', XDG_CONFIG_HOME: userConfig },
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
  const demo: Demo = { child, output: () => out, exited, base: `http://127.0.0.1:${port}`, port, dataDir: '', userConfig };
  await until(() => out.includes('demo ready') || child.exitCode !== null, 100_000, 100);
  demo.dataDir = /data folder \(deleted on exit\): (\S+)/.exec(out)?.[1] ?? '';
  if (!out.includes('demo ready')) {
    endDemo(demo);
    throw new Error(`the demo did not start:\n${out}`);
  }
  return demo;
}

function endDemo(demo: Demo): void {
  if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill('SIGKILL');
  // After a failure the demo had no chance to delete its folder.
  if (demo.dataDir) rmSync(demo.dataDir, { recursive: true, force: true });
  rmSync(demo.userConfig, { recursive: true, force: true });
}

const passwordOf = (demo: Demo, user: string) => new RegExp(`^\\s+${user}\\s+\\w+\\s+(\\S+)$`, 'm').exec(demo.output())?.[1] ?? '';

/** The local addresses listening on `port`, as Linux writes them in /proc/net/tcp and tcp6 (hex). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [address, localPort] = (fields[1] ?? '').split(':');
      // State 0A is LISTEN.
      if (localPort === hexPort && fields[3] === '0A' && address) found.push(address);
    }
  }
  return found;
}

describe('npm run demo', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo();
  }, 120_000);
  afterAll(() => endDemo(demo));

  it('starts from nothing, serves live readings of the simulated PLCs, and its printed walk-through works', async () => {
    expect(existsSync(demo.dataDir)).toBe(true);
    const { base } = demo;
    const token = await loginOverHttp(base, 'planner1', passwordOf(demo, 'planner1'));
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

    // worker1 takes their first stage through its life, as printed.
    const worker = await loginOverHttp(base, 'worker1', /"username":"worker1","password":"([^"]+)"/.exec(demo.output())?.[1] ?? '');
    const stage = /\/stages\/(\d+)\/start/.exec(demo.output())?.[1];
    const act = (action: string, body?: unknown) =>
      fetch(`${base}/stages/${stage}/${action}`, {
        method: 'POST',
        headers: body === undefined ? { authorization: `Bearer ${worker}` } : { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    for (const [action, body] of [['start'], ['pause', { reason: 'material' }], ['resume'], ['done', { qty_good: 98, qty_scrap: 2 }]] as const) {
      expect((await act(action, body)).status).toBe(200);
    }
  });

  it('names every machine it serves in its start message', async () => {
    const token = await loginOverHttp(demo.base, 'planner1', passwordOf(demo, 'planner1'));
    const res = await fetch(`${demo.base}/machines`, { headers: { authorization: `Bearer ${token}` } });
    const names = ((await res.json()) as { data: Machine[] }).data.map((m) => m.name).sort();
    expect(names).toEqual(['cnc-02', 'oven-01', 'press-01']);
    const line = /^simulated PLCs: .*$/m.exec(demo.output())?.[0] ?? '';
    for (const name of names) expect(line).toContain(name);
  });

  it.runIf(existsSync('/proc/net/tcp'))('listens on 127.0.0.1 only: the gateway and both simulators', () => {
    const modbus = Number(/Modbus TCP 127\.0\.0\.1:(\d+)/.exec(demo.output())?.[1]);
    const opcua = Number(/opc\.tcp:\/\/127\.0\.0\.1:(\d+)/.exec(demo.output())?.[1]);
    // 0100007F is 127.0.0.1; every interface would be 00000000 (or all zeros in tcp6, `*` in ss).
    for (const port of [demo.port, modbus, opcua]) expect(listeningAddresses(port), `port ${port}`).toEqual(['0100007F']);
  });

  it("keeps the OPC UA certificates in its data folder, none in the user's ~/.config", () => {
    expect(readdirSync(demo.userConfig)).toEqual([]);
    expect(existsSync(path.join(demo.dataDir, 'opcua-sim', 'PKI', 'own', 'certs', 'certificate.pem'))).toBe(true);
  });

  it('stops on SIGTERM and deletes its data folder', async () => {
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(existsSync(demo.dataDir)).toBe(false);
  });
});

describe('npm run demo, its terminal closed', () => {
  it('stops on SIGHUP and deletes its data folder, although it can no longer print', async () => {
    const demo = await startDemo();
    try {
      // A closed terminal: what the demo writes from now on fails.
      demo.child.stdout.destroy();
      demo.child.stderr.destroy();
      demo.child.kill('SIGHUP');
      expect(await demo.exited).toBe(0);
      expect(existsSync(demo.dataDir)).toBe(false);
    } finally {
      endDemo(demo);
    }
  }, 180_000);
});
