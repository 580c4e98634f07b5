// npm run bench -- sync (or node --import tsx bench/sync.ts): pushes SYNC_BENCH_PUSH_READINGS (200,000) readings
// with the worker's push and COPYs the same number into the same partitioned table in the same run
// (the ceiling: text COPY in writes of 10,000 rows; a plain multi-row INSERT beside it), then drains a
// backlog of readings and stage changes, times the edge→HQ latency of single changes while online,
// and 20 sites pushing at once. Every site pushes with its own login role (row-level security in
// force), as in production. Needs a server: BENCH_DATABASE_URL or TEST_DATABASE_URL, else
// 127.0.0.1:5432 as the current user; it creates a scratch database and drops it (and its roles). Sizes: SYNC_BENCH_READINGS (1,000,000),
// SYNC_BENCH_STAGES (10,000), SYNC_BENCH_SITES (20). Nothing here asserts a threshold.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openStore, type Store } from '../src/db/store.ts';
import { migrateHq } from '../sync/hq/migrate.ts';
import { createHqPool } from '../sync/hq/pool.ts';
import { addSite, siteUrl } from '../sync/hq/sites.ts';
import { closeEpoch } from '../sync/outbox.ts';
import { pushOnce } from '../sync/push.ts';
import { enableCapture } from '../sync/state.ts';
import { createSyncWorker } from '../sync/worker.ts';
import { pct, printTable } from './lib.ts';

const READINGS = Number(process.env.SYNC_BENCH_READINGS ?? 1_000_000);
const STAGES = Number(process.env.SYNC_BENCH_STAGES ?? 10_000);
const SITES = Number(process.env.SYNC_BENCH_SITES ?? 20);
const PUSH_READINGS = Number(process.env.SYNC_BENCH_PUSH_READINGS ?? 200_000);
const ADMIN = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? `postgres://${userInfo().username}@127.0.0.1:5432/test`;
const T0 = Date.now() - 3600_000;

function edgeStore(dir: string, site: number): Store {
  const store = openStore(path.join(dir, `site${site}.db`), site);
  enableCapture(store.sqlite);
  return store;
}

/** Readings as the readings writer stores them: batches of 5,000, an epoch closed every batch (a worker tick). */
function loadReadings(store: Store, n: number): void {
  const put = store.sqlite.prepare(
    "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temp', ?, 'C', 'good', NULL, ?, ?)",
  );
  for (let done = 0; done < n; done += 5000) {
    const size = Math.min(5000, n - done);
    store.commandNow(() => {
      const first = store.ids.block('machine_readings', size);
      for (let i = 0; i < size; i++) put.run(first + i, i % 100, T0 + done + i, T0 + done + i);
    });
    closeEpoch(store.sqlite);
  }
}

/** Work orders with 4 stages each, then `changes` stage status changes in small transactions. */
function loadStageChanges(store: Store, changes: number): void {
  const s = store.sqlite;
  const stageIds: number[] = [];
  store.commandNow(() => {
    for (let w = 0; w < Math.ceil(changes / 4); w++) {
      const wo = store.ids.next('work_orders');
      s.prepare(
        "INSERT INTO work_orders (id, product_code, lot_no, qty, planned_start, planned_end, status, created_at, updated_at) VALUES (?, 'P', 'L', 10, ?, ?, 'planned', ?, ?)",
      ).run(wo, T0, T0, T0, T0);
      for (let k = 1; k <= 4; k++) {
        const id = store.ids.next('work_order_stages');
        s.prepare(
          "INSERT INTO work_order_stages (id, work_order_id, seq, stage_name, status, created_at, updated_at) VALUES (?, ?, ?, 'st', 'planned', ?, ?)",
        ).run(id, wo, k, T0, T0);
        stageIds.push(id);
      }
    }
  });
  const upd = s.prepare("UPDATE work_order_stages SET status = 'in_progress', actual_start = ?, updated_at = ? WHERE id = ?");
  for (let i = 0; i < changes; i++) {
    const id = stageIds[i % stageIds.length];
    if (id !== undefined) store.commandNow(() => upd.run(T0 + i, T0 + i, id));
  }
  closeEpoch(s);
}

async function drain(store: Store, pool: pg.Pool, site: number): Promise<number> {
  let rows = 0;
  for (;;) {
    const r = await pushOnce({ sqlite: store.sqlite, pool, site, now: () => Date.now() });
    rows += r.rows;
    if (!r.more) return rows;
  }
}

/** Registers the sites and returns a pool per site on its own login role (trust auth on the bench server). */
async function registerSites(owner: pg.Pool, url: string, sites: number[]): Promise<Map<number, { url: string; pool: pg.Pool }>> {
  const out = new Map<number, { url: string; pool: pg.Pool }>();
  for (const s of sites) {
    const role = await addSite(owner, 'public', s, `bench-site-${s}-password`);
    const u = new URL(siteUrl(url, role));
    u.password = `bench-site-${s}-password`;
    out.set(s, { url: u.toString(), pool: createHqPool({ url: u.toString(), schema: 'public' }) });
  }
  return out;
}

/** `n` readings of a site no edge uses, as rows of machine_readings (site first), ids apart per site. */
function readingRows(site: number, n: number): unknown[][] {
  return Array.from({ length: n }, (_, i) => [site, site * 2 ** 40 + i, 1, 'temp', i % 100, 'C', 'good', null, new Date(T0 + i), new Date(T0 + i)]);
}

/** Plain multi-row INSERTs of 1,000 rows into machine_readings, each its own transaction. */
async function ceilingInsert(pool: pg.Pool, rows: unknown[][]): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000);
    const values = part.map((_, r) => `(${Array.from({ length: 10 }, (_, c) => `$${r * 10 + c + 1}`).join(', ')})`).join(', ');
    await pool.query(`INSERT INTO machine_readings VALUES ${values}`, part.flat());
  }
  return rows.length / ((performance.now() - t) / 1000);
}

/**
 * The COPY ceiling: the same rows COPYed as text into machine_readings itself (partitioned, with
 * its primary key), as HQ's owner, in writes of COPY_ROWS rows each. Until issue 24 this sent one
 * stream chunk per row, about 6× slower than a normal COPY, so the push read as 131–135% of it.
 */
const COPY_ROWS = 10_000;
async function ceilingCopy(pool: pg.Pool, rows: unknown[][]): Promise<number> {
  const client = await pool.connect();
  const t = performance.now();
  try {
    const text = (function* () {
      for (let i = 0; i < rows.length; i += COPY_ROWS) {
        const part = rows.slice(i, i + COPY_ROWS);
        yield `${part.map((r) => r.map((v) => (v === null ? '\\N' : v instanceof Date ? v.toISOString() : String(v))).join('\t')).join('\n')}\n`;
      }
    })();
    const columns = 'site_id, id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at';
    await pipeline(Readable.from(text), client.query(copyFrom(`COPY machine_readings (${columns}) FROM STDIN`)));
  } finally {
    client.release();
  }
  return rows.length / ((performance.now() - t) / 1000);
}

async function latency(store: Store, pool: pg.Pool, url: string, site: number, samples: number): Promise<{ p50: number; p99: number }> {
  const worker = createSyncWorker({
    sqlite: store.sqlite,
    site,
    hq: { url, schema: 'public' },
    intervalMs: 5000,
    now: () => Date.now(),
    log: { info: () => {}, warn: () => {} },
  });
  worker.start();
  await worker.runCycle();
  const id = (store.sqlite.prepare('SELECT id FROM work_orders LIMIT 1').get() as { id: number }).id;
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const qty = 1000 + i;
    store.commandNow(() => store.sqlite.prepare('UPDATE work_orders SET qty = ? WHERE id = ?').run(qty, id));
    const t = performance.now();
    for (;;) {
      const r = await pool.query('SELECT qty FROM work_orders WHERE id = $1', [id]);
      if (r.rows[0]?.qty === qty) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    times.push(performance.now() - t);
  }
  await worker.stop();
  times.sort((a, b) => a - b);
  return { p50: Math.round(times[Math.floor(times.length * 0.5)] ?? 0), p99: Math.round(times[Math.floor(times.length * 0.99)] ?? 0) };
}

/** The sync section of the benchmarks; skipped (with a line saying so) when no PostgreSQL answers. */
export async function benchSync(): Promise<void> {
  const db = `bench_sync_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    process.stdout.write(`sync bench skipped: no PostgreSQL at ${new URL(ADMIN).host} (${(err as Error).message})\n`);
    return;
  }
  await admin.query(`CREATE DATABASE ${db}`);
  const u = new URL(ADMIN);
  u.pathname = `/${db}`;
  const url = u.toString();
  const pool = createHqPool({ url, schema: 'public', max: 4 });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-sync-'));
  let sites = new Map<number, { url: string; pool: pg.Pool }>();
  try {
    await migrateHq(pool, 'public');
    sites = await registerSites(pool, url, [1, 2, ...Array.from({ length: SITES }, (_, i) => 100 + i)]);
    const site1 = sites.get(1);
    if (!site1) throw new Error('site 1 not registered');
    process.stdout.write(`sync bench: ${READINGS} readings + ${STAGES} stage changes into ${new URL(ADMIN).host} (database ${db})\n`);

    const store = edgeStore(dir, 1);
    loadReadings(store, READINGS);
    loadStageChanges(store, STAGES);
    const t = performance.now();
    const rows = await drain(store, site1.pool, 1);
    const drainS = (performance.now() - t) / 1000;
    const rowsPerS = rows / drainS;

    // Push against COPY (issue 24): the same number of readings, into the same partitioned table,
    // one after the other in this run. The push is the worker's (site role, row-level security,
    // exactly-once); COPY and INSERT run as HQ's owner with the rows formatted in Node.
    const n = PUSH_READINGS;
    const site2 = sites.get(2);
    if (!site2) throw new Error('site 2 not registered');
    const readingsOnly = edgeStore(dir, 2);
    loadReadings(readingsOnly, n);
    const tPush = performance.now();
    const cpuPush = process.cpuUsage();
    const pushed = await drain(readingsOnly, site2.pool, 2);
    const pushS = (performance.now() - tPush) / 1000;
    const edgeCpu = process.cpuUsage(cpuPush);
    readingsOnly.close();
    const copy = await ceilingCopy(pool, readingRows(900, n));
    const insert = await ceilingInsert(pool, readingRows(901, n));
    const push = pushed / pushS;
    printTable(
      `Push against COPY: ${n.toLocaleString('en-US')} readings into machine_readings (partitioned, primary key) in the same run (target: push ≥ 50% of COPY)`,
      [
        {
          what: "push (the worker's, site role: row-level security, exactly-once)",
          'rows/s': Math.round(push),
          seconds: pushS.toFixed(1),
          'of COPY': pct(push, copy),
          'edge CPU s': ((edgeCpu.user + edgeCpu.system) / 1e6).toFixed(1),
        },
        {
          what: `COPY, text, ${COPY_ROWS.toLocaleString('en-US')} rows per write (owner)`,
          'rows/s': Math.round(copy),
          seconds: (n / copy).toFixed(1),
          'of COPY': '100%',
          'edge CPU s': '—',
        },
        {
          what: 'multi-row INSERT, 1,000 rows per statement (owner)',
          'rows/s': Math.round(insert),
          seconds: (n / insert).toFixed(1),
          'of COPY': pct(insert, copy),
          'edge CPU s': '—',
        },
      ],
    );
    printTable('Backlog drain edge → HQ (target: 1M readings < 60 s)', [
      {
        what: `drain (${rows} outbox rows: readings and stage changes, site role)`,
        'rows/s': Math.round(rowsPerS),
        seconds: drainS.toFixed(1),
        'of COPY': pct(rowsPerS, copy),
      },
    ]);

    const lat = await latency(store, pool, site1.url, 1, 100);
    printTable('Single change edge → HQ while online (target p99 < 2 s)', [{ samples: 100, 'p50 ms': lat.p50, 'p99 ms': lat.p99 }]);
    store.close();

    const per = Math.round(READINGS / 10 / SITES);
    const stores = Array.from({ length: SITES }, (_, i) => {
      const s = edgeStore(dir, 100 + i);
      loadReadings(s, per);
      loadStageChanges(s, Math.max(4, Math.round(STAGES / SITES)));
      return s;
    });
    const t2 = performance.now();
    const counts = await Promise.all(
      stores.map((s, i) => {
        const site = sites.get(100 + i);
        if (!site) throw new Error(`site ${100 + i} not registered`);
        return drain(s, site.pool, 100 + i);
      }),
    );
    const s2 = (performance.now() - t2) / 1000;
    const total = counts.reduce((a, b) => a + b, 0);
    printTable(`${SITES} sites pushing at once into one PostgreSQL`, [
      { sites: SITES, 'rows each': counts[0] ?? 0, 'total rows/s': Math.round(total / s2), seconds: s2.toFixed(1), 'of COPY': pct(total / s2, copy) },
    ]);
    for (const s of stores) s.close();
  } finally {
    for (const s of sites.values()) await s.pool.end();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    const roles = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${db}\\_site\\_%`]);
    for (const r of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchSync();
