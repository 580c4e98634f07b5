import { spawn } from 'node:child_process';
import path from 'node:path';
import { newApp } from '../../../src/app.ts';
import { buildContext } from '../../../src/bootstrap.ts';
import { manualClock } from '../../../src/clock.ts';
import type { AppContext } from '../../../src/context.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPasswordHasher } from '../../../src/modules/auth/password.ts';
import { createUser } from '../../../src/modules/auth/service.ts';
import { createSyncWorker, type SyncWorker } from '../../../sync/worker.ts';
import { T0, TEST_SCRYPT, testConfig } from '../../helpers/app.ts';
import { ROOT } from '../../helpers/child.ts';

/** Where a cycle of an in-process edge fails on purpose (the worker's test hooks). */
export type CutPoint = 'before-commit' | 'after-commit' | 'mid-pull';
/** Where a child edge process is SIGKILLed: a hook of push or pull, inside a write, or at a random moment. */
export type KillPoint = CutPoint | 'mid-write' | 'anytime';

/** One edge gateway of a run, in this process, with its API and its sync worker. */
export interface FaultEdge {
  site: number;
  dir: string;
  /** The HQ URL it syncs with: through the run's proxy, as the site's role or the owner. */
  url: string;
  ctx: AppContext;
  clock: ReturnType<typeof manualClock>;
  app: ReturnType<typeof newApp>['app'];
  sync: SyncWorker;
  cut: { point: CutPoint | undefined };
  token: string;
  workerId: number;
  close(): Promise<void>;
}

const PLANNER_PASSWORD = 'planner-password';

/** Opens (or reopens) the edge database in `dir`; a fresh one gets a planner and a worker. */
export async function openEdge(site: number, dir: string, url: string, start = T0): Promise<FaultEdge> {
  const clock = manualClock(start);
  const ctx = buildContext(testConfig(dir, { SITE_ID: String(site), HQ_DATABASE_URL: url }), silentLogger(), {
    clock,
    passwords: createPasswordHasher(TEST_SCRYPT, 2),
    processMetrics: false,
  });
  const cut: FaultEdge['cut'] = { point: undefined };
  const sync = createSyncWorker({
    sqlite: ctx.store.sqlite,
    site,
    hq: { url, schema: 'public' },
    intervalMs: 1000,
    now: () => ctx.clock.now(),
    log: { info: () => {}, warn: () => {} },
    hooks: (point) => {
      if (cut.point === point) {
        cut.point = undefined;
        throw new Error(`link cut ${point}`);
      }
    },
  });
  const { app } = newApp(ctx);
  const sqlite = ctx.store.sqlite;
  const worker = sqlite.prepare('SELECT id FROM users WHERE username = ?').get(`worker${site}`) as { id: number } | undefined;
  let workerId = worker?.id ?? 0;
  if (!worker) {
    await createUser(ctx, { username: `planner${site}`, password: PLANNER_PASSWORD, role: 'planner' });
    workerId = (await createUser(ctx, { username: `worker${site}`, password: 'worker-password', role: 'worker' })).id;
  }
  const res = await app.request('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `planner${site}`, password: PLANNER_PASSWORD }),
  });
  const token = res.status === 200 ? ((await res.json()) as { data: { access_token: string } }).data.access_token : '';
  return {
    site,
    dir,
    url,
    ctx,
    clock,
    app,
    sync,
    cut,
    token,
    workerId,
    close: async () => {
      await sync.stop();
      ctx.readings.stop();
      ctx.store.close();
    },
  };
}

/** Calls the edge's API as its planner. */
export const call = (e: FaultEdge, method: string, url: string, body?: unknown): Promise<Response> =>
  Promise.resolve(
    e.app.request(url, {
      method,
      headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );

/** What a killed child process reported before it died. */
export interface ChildOutcome {
  /** Reading blocks it committed: [first id, count]. */
  readings: Array<[number, number]>;
  /** Where it was when the signal came. */
  at: string;
}

/**
 * Runs the edge in `dir` as a child process (test/sync/edge-child.ts: writes and sync cycles in
 * a loop) and SIGKILLs it at `point` of cycle `cycles` or later, or `anytimeMs` after it is ready
 * for "anytime"; a point it does not reach within 8 s (the link is down, a grant is missing)
 * becomes a kill at that moment.
 */
export async function killChild(
  dir: string,
  site: number,
  url: string,
  seed: number,
  point: KillPoint,
  cycles: number,
  anytimeMs: number,
): Promise<ChildOutcome> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/sync/edge-child.ts'), dir, String(site), url, String(seed), point, String(cycles)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const outcome: ChildOutcome = { readings: [], at: 'not started' };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    let buffer = '';
    let timer: NodeJS.Timeout | undefined;
    const stop = (at: string) => {
      if (outcome.at !== 'not started') return;
      outcome.at = at;
      if (timer) clearTimeout(timer);
      resolve();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^readings (\d+) (\d+)$/.exec(line);
        if (m) outcome.readings.push([Number(m[1]), Number(m[2])]);
        else if (line.startsWith('at ')) stop(line.slice(3));
        else if (line === 'ready') {
          timer = setTimeout(() => stop(point === 'anytime' ? `anytime (${anytimeMs} ms)` : 'timeout'), point === 'anytime' ? anytimeMs : 8000);
        }
      }
    });
    void exited.then((code) => stop(`exited ${code}`));
  });
  child.kill('SIGKILL');
  await exited;
  return outcome;
}
