import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/db/store.ts';
import { enableCapture } from '../../sync/state.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, startHq } from './fixture.ts';

/**
 * A backlog far larger than the heap the push runs in. The old push read a whole epoch (and the
 * first snapshot was one epoch) with .all(): at this size it died of a heap OOM in 48 MB.
 */
const READINGS = Number(process.env.SYNC_BACKLOG_TEST_READINGS ?? 250_000);
const HEAP_MB = 48;
const T0 = Date.UTC(2026, 0, 1);

let hq: Hq;
const urls = new Map<number, string>();
const dirs: string[] = [];
beforeAll(async () => {
  hq = await startHq();
  for (const site of [21, 22]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function edgeFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-backlog-'));
  dirs.push(dir);
  return path.join(dir, 'gateway.db');
}

/** `n` readings in one local transaction. */
function insertReadings(store: Store, n: number): void {
  const put = store.sqlite.prepare(
    "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temperature', ?, 'celsius', 'good', NULL, ?, ?)",
  );
  store.commandNow(() => {
    const first = store.ids.block('machine_readings', n);
    for (let i = 0; i < n; i++) put.run(first + i, i % 1000, T0 + i * 10, T0 + i * 10);
  });
}

interface ChildReport {
  enqueued: number;
  rows: number;
  pushes: number;
  peakHeapMb: number;
  peakRssMb: number;
}

/** Runs the drain in a child node with a small heap; resolves with its report or rejects with its stderr. */
function drainInChild(file: string, site: number, url: string): Promise<ChildReport> {
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MB}`,
      '--max-semi-space-size=4',
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'backlog-child.ts'),
      file,
      String(site),
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildReport);
      else reject(new Error(`drain child exited ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

const hqCount = async (site: number) =>
  Number((await hqRows<{ n: string }>(hq, 'SELECT count(*) AS n FROM machine_readings WHERE site_id = $1', [site]))[0]?.n);
const cursor = async (site: number) => Number((await hqRows<{ s: string }>(hq, 'SELECT last_seq AS s FROM sync_push_cursor WHERE site_id = $1', [site]))[0]?.s);

function outboxLeft(file: string, site: number): { rows: number; issued: number } {
  const store = openStore(file, site);
  try {
    const rows = (store.sqlite.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;
    const issued = (store.sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'").get() as { seq: number }).seq;
    return { rows, issued };
  } finally {
    store.close();
  }
}

describe(`a backlog of ${READINGS} readings drains in a ${HEAP_MB} MB heap`, () => {
  it('the first snapshot (readings stored while sync was off)', async () => {
    const file = edgeFile();
    const store = openStore(file, 21);
    insertReadings(store, READINGS);
    store.close();
    const report = await drainInChild(file, 21, urls.get(21) ?? '');
    expect(report.enqueued).toBe(READINGS);
    expect(report.rows).toBe(READINGS);
    // Many HQ transactions of whole snapshot epochs, not one.
    expect(report.pushes).toBeGreaterThan(1);
    expect(await hqCount(21)).toBe(READINGS);
    const left = outboxLeft(file, 21);
    expect(left.rows).toBe(0);
    expect(await cursor(21)).toBe(left.issued);
  }, 300_000);

  it('one local transaction (a single epoch), applied at HQ in one transaction', async () => {
    const file = edgeFile();
    const store = openStore(file, 22);
    enableCapture(store.sqlite);
    insertReadings(store, READINGS);
    store.close();
    const report = await drainInChild(file, 22, urls.get(22) ?? '');
    expect(report.enqueued).toBe(0);
    expect(report.rows).toBe(READINGS);
    expect(report.pushes).toBe(1);
    expect(await hqCount(22)).toBe(READINGS);
    const left = outboxLeft(file, 22);
    expect(left.rows).toBe(0);
    expect(await cursor(22)).toBe(left.issued);
  }, 300_000);
});
