// npm run bench [-- http console writes readings drivers reconnect mqtt sync sync-backlog]: every figure is printed next to the ceiling it
// is compared with, both measured in this run on this machine. Nothing here asserts a threshold.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { CONNECTIONS, DURATION_S, load, pct, printTable, procStats, profiled, startChild, stopChild } from './lib.ts';
import { CAPTURE_CONFIGS, type CaptureConfig } from './capture.ts';
import { benchCommandPath } from './command-path.ts';
import { benchConsole, benchSseFanout } from './console.ts';
import { benchHttpReads } from './http-reads.ts';
import { benchReconnects } from './drivers-reconnect.ts';
import { benchMqtt } from './mqtt.ts';
import { benchReadingsWriter } from './readings-writer.ts';
import { BUILD, buildDist } from './product.ts';
import { benchSync } from './sync.ts';
import { benchSyncBacklog } from './sync-backlog.ts';

const sections = new Set(process.argv.slice(2).filter((a) => !a.startsWith('-')));
const want = (s: string) => sections.size === 0 || sections.has(s);

process.stdout.write(`edge-gateway benchmarks — node ${process.version}, ${DURATION_S} s per run, ${CONNECTIONS} connections; gateway: ${BUILD}\n`);

interface GatewayReady {
  port: number;
  token: string;
  woId: number;
  stageIds: number[];
  machineId: number;
}

/** The write ceiling: single-row commits with synchronous=FULL in WAL, one after another. */
function singleCommitCeiling(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-ceil-'));
  const db = new Sqlite(path.join(dir, 'c.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT, at INTEGER)');
  const insert = db.prepare('INSERT INTO t (status, at) VALUES (?, ?)');
  const tx = db.transaction((i: number) => insert.run('x', i));
  let n = 0;
  const end = Date.now() + DURATION_S * 1000;
  while (Date.now() < end) tx(n++);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return n / DURATION_S;
}

function setCapture(child: ChildProcess, c: CaptureConfig): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: { captured?: boolean }) => {
      if (!m.captured) return;
      child.off('message', onMessage);
      resolve();
    };
    child.on('message', onMessage);
    child.send({ capture: { mqtt: c.mqtt, sync: c.sync } });
  });
}

/**
 * POST /stages/{id}/start then /done on fresh stages, once per capture config, each beside a
 * single-commit ceiling measured just before it. CPU per write is the gateway child's user+system
 * CPU (from /proc) over the run divided by the writes it answered 2xx.
 */
async function stageWrites(gw: GatewayReady, child: ChildProcess) {
  let next = 0;
  const stages = gw.stageIds;
  let key = 0;
  /** `amount` requests in all, or DURATION_S seconds. */
  const startDone = (idempotencyKeys = false, amount?: number) => {
    const keyed = (req: Record<string, unknown>) =>
      idempotencyKeys ? { ...req, headers: { ...(req.headers as Record<string, string>), 'idempotency-key': `bench-${++key}` } } : req;
    return load({
      url: `http://127.0.0.1:${gw.port}`,
      ...(amount ? { amount } : {}),
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      requests: [
        {
          method: 'POST',
          body: '{}',
          setupRequest: (req, context) => {
            const id = stages[next++ % stages.length];
            (context as { stage?: number }).stage = id;
            return keyed({ ...req, path: `/stages/${id}/start` }) as typeof req;
          },
        },
        {
          method: 'POST',
          body: '{}',
          setupRequest: (req, context) => keyed({ ...req, path: `/stages/${(context as { stage?: number }).stage}/done` }) as typeof req,
        },
      ],
    });
  };
  // Warm-up (not reported): a fresh process compiles its hot paths over the first thousand or so requests.
  await startDone(false, 2000);
  const rows: Array<Record<string, string | number>> = [];
  const runs = [
    ...CAPTURE_CONFIGS.map((c) => ({ ...c, keys: false })),
    { ...(CAPTURE_CONFIGS[0] as CaptureConfig), name: 'plain, Idempotency-Key on every request', keys: true },
  ];
  for (const config of runs) {
    await setCapture(child, config);
    const ceiling = singleCommitCeiling();
    const before = procStats(child.pid ?? 0);
    const cycle = await profiled(child, `writes ${config.name}`, () => startDone(config.keys));
    const cpuS = procStats(child.pid ?? 0).cpuS - before.cpuS;
    rows.push({
      'start→done (one op = one request)': config.name,
      'ceiling commits/s': ceiling,
      'ops/s': cycle.rps,
      'of ceiling': pct(cycle.rps, ceiling),
      'p50 ms': cycle.p50,
      'p99 ms': cycle.p99,
      'CPU µs/write': cycle.ok > 0 ? (cpuS * 1e6) / cycle.ok : '—',
      errors: cycle.errors,
    });
  }
  printTable(
    'Writes (targets: start→done ≥ 50% of the single-commit ceiling, measured just before each run, on a fast disk; ≥ 90% where the disk is the limit)',
    rows,
  );
  await setCapture(child, CAPTURE_CONFIGS[0] as CaptureConfig);
  const alone = await benchCommandPath();
  printTable(
    'Command path alone: the same transitions in-process through store.command (group commit, synchronous=FULL, 32 in flight), no HTTP',
    alone.map((f) => ({ config: f.name, 'transitions/s': f.perS, 'CPU µs/transition': f.cpuUs })),
  );
  if (next > stages.length)
    process.stdout.write(`note: ${next} requests cycled over ${stages.length} stages; later ones met done stages (409 counted as errors)\n`);
}

async function readingsPost(gw: GatewayReady) {
  const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ reading_type: `r${i % 10}`, value: i })));
  const r = await load({
    url: `http://127.0.0.1:${gw.port}/machines/${gw.machineId}/readings`,
    method: 'POST',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
    body: batch,
  });
  return { rps: r.rps, readings: r.rps * 100, p50: r.p50, p99: r.p99, errors: r.errors };
}

/** The V8 flags `npm start` ships (package.json; the Dockerfile and the systemd unit set the same). */
const SHIPPED_NODE_ARGS = (/NODE_OPTIONS=\\?"([^$"\\]*)/.exec(readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8'))?.[1] ?? '')
  .split(' ')
  .filter(Boolean);

async function drivers() {
  const devices = Number(process.env.BENCH_DEVICES ?? 10);
  const tags = Number(process.env.BENCH_TAGS ?? 1000);
  const sims = await startChild<{ ports: number[] }>('modbus-sims.ts', { BENCH_DEVICES: String(devices), BENCH_TAGS: String(tags) });
  const ports = sims.ready.ports.join(',');
  try {
    const ceiling = await startChild<{ registers: number }>('modbus-ceiling.ts', { BENCH_PORTS: ports });
    const ceilingValues = ceiling.ready.registers / 2 / DURATION_S;
    await stopChild(ceiling.child);

    /** `shipped`: dist/ under plain node with the V8 flags `npm start` and the image use; otherwise the sources under tsx. */
    const measure = async (pollMs: number, shipped = false) => {
      const poller = await startChild<{ port: number }>(
        'poller.mjs',
        {
          BENCH_PORTS: ports,
          BENCH_TAGS: String(tags),
          BENCH_POLL_MS: String(pollMs),
          BENCH_COMPILED: shipped ? '1' : '0',
        },
        shipped ? SHIPPED_NODE_ARGS : [],
        { tsx: !shipped },
      );
      const pid = poller.child.pid ?? 0;
      const metrics = async () => {
        const text = await (await fetch(`http://127.0.0.1:${poller.ready.port}/metrics`)).text();
        const values = [...text.matchAll(/^gateway_driver_values_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
        const stored = [...text.matchAll(/^gateway_readings_stored_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
        const heap = Number(/^gateway_nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
        return { values, stored, heap };
      };
      await new Promise((r) => setTimeout(r, 3000)); // connect and settle
      const m0 = await metrics();
      const p0 = procStats(pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, DURATION_S * 1000));
      const m1 = await metrics();
      const p1 = procStats(pid);
      const secs = (performance.now() - t0) / 1000;
      const base = `http://127.0.0.1:${poller.ready.port}`;
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'bench-admin-password' }),
      });
      const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
      const devices = (
        (await (await fetch(`${base}/drivers/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
          data: Array<{ poll_duration_ms: number | null }>;
        }
      ).data;
      const cycleMs = devices.reduce((a, d) => a + (d.poll_duration_ms ?? 0), 0) / Math.max(1, devices.length);
      await stopChild(poller.child);
      return {
        values: (m1.values - m0.values) / secs,
        stored: (m1.stored - m0.stored) / secs,
        cpu: (100 * (p1.cpuS - p0.cpuS)) / secs,
        rss: p1.rssMb,
        heap: m1.heap,
        cycleMs,
      };
    };
    const row = (run: string, m: Awaited<ReturnType<typeof measure>>) => ({
      run,
      'values/s': m.values,
      'stored/s': m.stored,
      'CPU % of a core': m.cpu,
      'RSS MB': m.rss,
      'heap MB': m.heap,
      'of ceiling': pct(m.values, ceilingValues),
    });
    const max = await measure(10);
    const steady = await measure(1000);
    buildDist();
    const shipped = await measure(1000, true);
    sims.child.send({ drift: false });
    const quiet = await measure(1000, true);
    printTable(
      `Field drivers: ${devices} devices × ${tags} float32 tags, simulators in another process (targets: ≥ 100,000 values/s; at 10,000 changing tags/s with the shipped settings RSS < 150 MB, CPU < 10%)`,
      [
        {
          run: 'plain 125-register read loop (ceiling)',
          'values/s': ceilingValues,
          'stored/s': '—',
          'CPU % of a core': '—',
          'RSS MB': '—',
          'heap MB': '—',
          'of ceiling': '100%',
        },
        row('gateway, 10 ms poll interval (as fast as it goes)', max),
        row('gateway, 1 s poll (10,000 tags/s), every value changing (sources under tsx, V8 defaults)', steady),
        row(`same, shipped: dist/ under node ${SHIPPED_NODE_ARGS.join(' ')}`, shipped),
        row('same shipped settings, values steady (report by exception stores heartbeats only)', quiet),
      ],
    );
    process.stdout.write(`poll-cycle time per device at 10 ms: ${max.cycleMs.toFixed(1)} ms (mean poll_duration_ms over devices, GET /drivers/status)\n`);
  } finally {
    await stopChild(sims.child);
  }
}

if (want('http') || want('writes') || want('readings') || want('console')) {
  // Writes need a fresh stage per start: five runs at up to ~10,000 writes/s use ~125,000 stages.
  const workOrders = process.env.BENCH_WORK_ORDERS ?? (want('writes') ? '40000' : '10000');
  // With npm start's V8 flags, as shipped.
  const gwEnv = { BENCH_WORK_ORDERS: workOrders };
  const gw = await startChild<GatewayReady>('gateway.ts', gwEnv, SHIPPED_NODE_ARGS);
  process.stdout.write(
    `gateway database: ${Number(workOrders).toLocaleString('en-US')} work orders, ${gw.ready.stageIds.length.toLocaleString('en-US')} stages\n`,
  );
  try {
    if (want('http')) await benchHttpReads(gw.ready, gw.child, { env: gwEnv, nodeArgs: SHIPPED_NODE_ARGS });
    if (want('console')) await benchConsole(gw.ready);
    if (want('writes')) await stageWrites(gw.ready, gw.child);
    if (want('readings')) {
      const writer = benchReadingsWriter(DURATION_S);
      const post = await readingsPost(gw.ready);
      printTable('Readings stored', [
        {
          path: 'raw better-sqlite3 batched inserts, 5,000 per transaction (ceiling)',
          'readings/s': writer.rawPerS,
          'p50 ms': '—',
          'p99 ms': '—',
          'of ceiling': '100%',
        },
        {
          path: 'batch writer (drivers), flushes of 5,000',
          'readings/s': writer.writerPerS,
          'p50 ms': '—',
          'p99 ms': '—',
          'of ceiling': pct(writer.writerPerS, writer.rawPerS),
        },
        {
          path: 'POST /machines/{id}/readings, 100 per request',
          'readings/s': post.readings,
          'p50 ms': post.p50,
          'p99 ms': post.p99,
          'of ceiling': pct(post.readings, writer.rawPerS),
        },
      ]);
    }
  } finally {
    await stopChild(gw.child);
  }
}
if (want('console')) await benchSseFanout();
if (want('drivers')) await drivers();
if (want('reconnect')) {
  const r = await benchReconnects();
  printTable('Modbus reconnects (a leak shows as heap or handles growing with the cycle count)', [
    { run: `${r.cycles} server stop/start cycles`, 'ms per cycle': r.msPerCycle, 'heap growth MB': r.heapGrowthMb, 'handles left': r.handleGrowth },
  ]);
}
if (want('mqtt')) await benchMqtt();
if (want('sparkplug')) await (await import('./sparkplug.ts')).benchSparkplug();
if (want('sync')) await benchSync();
if (want('sync-backlog')) await benchSyncBacklog();
process.exit(0);
