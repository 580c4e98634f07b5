// node --import tsx bench/sync.ts: drains a backlog of readings and stage changes into a local
// PostgreSQL and prints rows/s next to the ceiling measured in the same run (plain multi-row
// INSERT and COPY of the same rows from Node into a table of the same shape, primary key
// included), the edge→HQ latency of single changes while online,
// and 20 sites pushing at once. Needs a server: BENCH_DATABASE_URL or TEST_DATABASE_URL, else
// 127.0.0.1:5432 as the current user. Sizes: SYNC_BENCH_READINGS (1,000,000),
// SYNC_BENCH_STAGES (10,000), SYNC_BENCH_SITES (20). Nothing here asserts a threshold.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openStore, type Store } from '../src/db/store.ts';
import { migrateHq } from '../sync/hq/migrate.ts';
import { createHqPool } from '../sync/hq/pool.ts';
import { closeEpoch } from '../sync/outbox.ts';
import { pushOnce } from '../sync/push.ts';
import { enableCapture } from '../sync/state.ts';
import { createSyncWorker } from '../sync/worker.ts';
import { pct, printTable } from './lib.ts';

const READINGS = Number(process.env.SYNC_BENCH_READINGS ?? 1_000_000);
const STAGES = Number(process.env.SYNC_BENCH_STAGES ?? 10_000);
const SITES = Number(process.env.SYNC_BENCH_SITES ?? 20);
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
    const r = await pushOnce({ sqlite: store.sqlite, pool, site, now: () => Date.now(), batchRows: 20_000 });
    rows += r.rows;
    if (!r.more) return rows;
  }
}

async function registerSites(pool: pg.Pool, sites: number[]): Promise<void> {
  for (const s of sites) {
    await pool.query("INSERT INTO sync_sites (site_id, role_name) VALUES ($1::int, 'bench_' || $1::text)", [s]);
    await pool.query('INSERT INTO sync_push_cursor (site_id) VALUES ($1)', [s]);
  }
}

function readingRows(n: number): unknown[][] {
  return Array.from({ length: n }, (_, i) => [900, 1e9 + i, 1, 'temp', i % 100, 'C', 'good', null, new Date(T0 + i), new Date(T0 + i)]);
}

async function ceilingInsert(pool: pg.Pool, rows: unknown[][]): Promise<number> {
  await pool.query('CREATE TABLE ceiling_insert (LIKE machine_readings INCLUDING ALL)');
  const t = performance.now();
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000);
    const values = part.map((_, r) => `(${Array.from({ length: 10 }, (_, c) => `$${r * 10 + c + 1}`).join(', ')})`).join(', ');
    await pool.query(`INSERT INTO ceiling_insert VALUES ${values}`, part.flat());
  }
  return rows.length / ((performance.now() - t) / 1000);
}

async function ceilingCopy(pool: pg.Pool, rows: unknown[][]): Promise<number> {
  await pool.query('CREATE TABLE ceiling_copy (LIKE machine_readings INCLUDING ALL)');
  const client = await pool.connect();
  const t = performance.now();
  try {
    const lines = (function* () {
      for (const r of rows) yield `${r.map((v) => (v === null ? '\\N' : v instanceof Date ? v.toISOString() : String(v))).join('\t')}\n`;
    })();
    await pipeline(Readable.from(lines), client.query(copyFrom('COPY ceiling_copy FROM STDIN')));
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

async function main(): Promise<void> {
  const db = `gw_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const u = new URL(ADMIN);
  u.pathname = `/${db}`;
  const url = u.toString();
  const pool = createHqPool({ url, schema: 'public', max: SITES + 4 });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-bench-sync-'));
  try {
    await migrateHq(pool, 'public');
    await registerSites(pool, [1, ...Array.from({ length: SITES }, (_, i) => 100 + i)]);
    process.stdout.write(`sync bench: ${READINGS} readings + ${STAGES} stage changes into ${new URL(ADMIN).host}\n`);

    const store = edgeStore(dir, 1);
    loadReadings(store, READINGS);
    loadStageChanges(store, STAGES);
    const t = performance.now();
    const rows = await drain(store, pool, 1);
    const drainS = (performance.now() - t) / 1000;
    const rowsPerS = rows / drainS;
    const sample = readingRows(Math.min(READINGS, 200_000));
    const insert = await ceilingInsert(pool, sample);
    const copy = await ceilingCopy(pool, sample);
    printTable('Backlog drain edge → HQ (target ≥ 50% of the ceiling; 1M readings < 60 s)', [
      {
        what: `drain (${rows} outbox rows)`,
        'rows/s': Math.round(rowsPerS),
        seconds: drainS.toFixed(1),
        'of INSERT ceiling': pct(rowsPerS, insert),
        'of COPY': pct(rowsPerS, copy),
      },
      {
        what: 'multi-row INSERT, 1,000 rows/statement (ceiling)',
        'rows/s': Math.round(insert),
        seconds: '',
        'of INSERT ceiling': '100%',
        'of COPY': pct(insert, copy),
      },
      { what: 'COPY (ceiling)', 'rows/s': Math.round(copy), seconds: '', 'of INSERT ceiling': pct(copy, insert), 'of COPY': '100%' },
    ]);

    const lat = await latency(store, pool, url, 1, 100);
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
    const counts = await Promise.all(stores.map((s, i) => drain(s, pool, 100 + i)));
    const s2 = (performance.now() - t2) / 1000;
    const total = counts.reduce((a, b) => a + b, 0);
    printTable(`${SITES} sites pushing at once into one PostgreSQL`, [
      { sites: SITES, 'rows each': counts[0] ?? 0, 'total rows/s': Math.round(total / s2), seconds: s2.toFixed(1) },
    ]);
    for (const s of stores) s.close();
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
