// The floor console's "my work" page beside the JSON it is built from, against the same gateway in
// the same run: the page costs GET /auth/me, GET /stages?assigned_to=me and one GET /workorders/{id}
// per work order in-process, plus rendering.
import type { ChildProcess } from 'node:child_process';
import { DURATION_S, load, pct, printTable, procStats, startChild, stopChild } from './lib.ts';

/** What bench/servers/gateway.ts reports when ready (the fields used here). */
export interface ConsoleBenchGateway {
  port: number;
  token: string;
  stageIds: number[];
}

const STAGES = 20;
const STAGES_PER_WO = 4;

export async function benchConsole(gw: ConsoleBenchGateway): Promise<void> {
  const base = `http://127.0.0.1:${gw.port}`;
  const admin = { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' };
  const username = `bench-worker-${Date.now()}`;
  const password = 'bench-worker-password';
  const created = await fetch(`${base}/auth/register`, { method: 'POST', headers: admin, body: JSON.stringify({ username, password, role: 'worker' }) });
  const userId = ((await created.json()) as { data: { id: number } }).data.id;
  // Five work orders, four stages each: the page lists 20 stages and reads five work orders.
  for (const stageId of gw.stageIds.slice(0, STAGES)) {
    await fetch(`${base}/stages/${stageId}/assignments`, { method: 'POST', headers: admin, body: JSON.stringify({ user_id: userId }) });
  }
  const login = await fetch(`${base}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
    redirect: 'manual',
  });
  const cookie = (login.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '').split(';')[0] ?? '';
  const tokenRes = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const token = ((await tokenRes.json()) as { data: { access_token: string } }).data.access_token;

  const json = await load({ url: `${base}/stages?assigned_to=me`, headers: { authorization: `Bearer ${token}` } });
  const page = await load({ url: `${base}/console/work`, headers: { cookie } });
  printTable(`Floor console "my work" (${STAGES} stages over ${STAGES / STAGES_PER_WO} work orders), same gateway, same run`, [
    { request: 'GET /stages?assigned_to=me (JSON)', 'req/s': json.rps, 'p50 ms': json.p50, 'p99 ms': json.p99, 'of JSON': '100%', errors: json.errors },
    {
      request: 'GET /console/work (HTML page)',
      'req/s': page.rps,
      'p50 ms': page.p50,
      'p99 ms': page.p99,
      'of JSON': pct(page.rps, json.rps),
      errors: page.errors,
    },
  ]);
}

const CONSOLES = Number(process.env.BENCH_SSE_CONSOLES ?? 100);
const RATE = Number(process.env.BENCH_SSE_RATE ?? 10_000);
const SEQ_ROW = /data-reading="seq" data-row-machine="\d+"><th[\s\S]*?data-value[^>]*>(\d+)/;

interface Fanout {
  cpu: number;
  stored: number;
  events: number;
  p50: number;
  p99: number;
  max: number;
}

const wall = () => performance.timeOrigin + performance.now();
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function ask<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(msg as never);
  });
}

/** Opens n console event streams of the machines page; records when each `seq` value arrived. */
async function openConsoles(base: string, cookie: string, n: number) {
  const received: Array<[number, number]> = [];
  const abort = new AbortController();
  const streams = await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await fetch(`${base}/console/events?machines=all`, { headers: { cookie }, signal: abort.signal });
      const reader = res.body?.getReader();
      if (!reader) throw new Error('no event stream');
      return reader;
    }),
  );
  for (const reader of streams) {
    void (async () => {
      const decoder = new TextDecoder();
      let text = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const at = wall();
          text += decoder.decode(value, { stream: true });
          let end = text.indexOf('\n\n');
          while (end >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const seq = block.startsWith('event: readings') ? SEQ_ROW.exec(block) : null;
            if (seq) received.push([Number(seq[1]), at]);
            end = text.indexOf('\n\n');
          }
        }
      } catch {
        // aborted at the end of the run
      }
    })();
  }
  return { received, close: () => abort.abort() };
}

async function fanoutRun(child: ChildProcess, base: string, cookie: string, consoles: number): Promise<Fanout> {
  const pid = child.pid ?? 0;
  const open = consoles > 0 ? await openConsoles(base, cookie, consoles) : { received: [] as Array<[number, number]>, close: () => {} };
  await ask(child, { cmd: 'start', rate: RATE });
  await new Promise((r) => setTimeout(r, 1000)); // settle
  open.received.length = 0;
  const p0 = procStats(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  const p1 = procStats(pid);
  const secs = (performance.now() - t0) / 1000;
  const { commits, storedPerS } = await ask<{ commits: Array<[number, number]>; storedPerS: number }>(child, { cmd: 'stop' });
  open.close();
  const committedAt = new Map(commits);
  const latencies = open.received
    .map(([seq, at]) => at - (committedAt.get(seq) ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  return {
    cpu: (100 * (p1.cpuS - p0.cpuS)) / secs,
    stored: storedPerS,
    events: latencies.length / secs,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

/**
 * SSE fan-out: CONSOLES open machines pages (event streams) while RATE readings/s are stored
 * through the drivers' path. Latency is from the commit of the batch carrying a value (the bus
 * message, in the gateway) to that value's `readings` event read by the client; both processes
 * read the same wall clock. The same load without consoles, in the same run, is the CPU baseline.
 */
export async function benchSseFanout(): Promise<void> {
  const gw = await startChild<{ port: number; machines: number; types: number }>('readings-gateway.ts');
  try {
    const base = `http://127.0.0.1:${gw.ready.port}`;
    const login = await fetch(`${base}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'bench-console', password: 'bench-console-pw' }).toString(),
      redirect: 'manual',
    });
    const cookie = (login.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '').split(';')[0] ?? '';
    const alone = await fanoutRun(gw.child, base, cookie, 0);
    const fan = await fanoutRun(gw.child, base, cookie, CONSOLES);
    const row = (run: string, f: Fanout) => ({
      run,
      'stored/s': f.stored,
      'CPU % of a core': f.cpu,
      'events/s (all pages)': f.events > 0 ? f.events : '—',
      'p50 ms': f.events > 0 ? f.p50 : '—',
      'p99 ms': f.events > 0 ? f.p99 : '—',
      'max ms': f.events > 0 ? f.max : '—',
    });
    printTable(
      `SSE fan-out: ${CONSOLES} open machines pages while ${RATE.toLocaleString('en-US')} readings/s are stored (${gw.ready.machines} machines × ${gw.ready.types} reading types, drivers' batch writer); latency commit → event received`,
      [row('readings stored, no console open (baseline)', alone), row(`same, ${CONSOLES} consoles on /console/events?machines=all`, fan)],
    );
  } finally {
    await stopChild(gw.child);
  }
}
