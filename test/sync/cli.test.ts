import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncStatus } from '../../sync/status.ts';
import { runCli } from '../helpers/child.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, startHq } from './fixture.ts';

let hq: Hq;
let dir: string;
beforeAll(async () => {
  hq = await startHq();
  dir = mkdtempSync(path.join(tmpdir(), 'gw-sync-cli-'));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  DATABASE_PATH: path.join(dir, 'gateway.db'),
  CONFIG_DIR: path.join(dir, 'config'),
  JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!!',
  SITE_ID: '12',
  HQ_DATABASE_URL: hq.server.url,
  ...extra,
});

// Each command is a fresh process (tsx start-up takes seconds on a busy box).
describe('hq and sync commands', { timeout: 120_000 }, () => {
  it('hq migrate is idempotent', () => {
    const again = runCli(['hq', 'migrate'], env());
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/schema public is up to date/);
    expect(again.status).toBe(0);
  });

  it('hq add-site creates the role and prints its URL without the password', async () => {
    const res = runCli(['hq', 'add-site', '12', '--password-stdin'], env(), 'a-long-site-password\n');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/site 12: role \S+_site_12/);
    expect(res.stdout).toMatch(/HQ_DATABASE_URL=postgres/);
    expect(res.stdout).not.toContain('a-long-site-password');
    expect(await hqRows(hq, 'SELECT site_id FROM sync_sites WHERE site_id = 12')).toEqual([{ site_id: 12 }]);
  });

  it('refuses add-site without --password-stdin or with a bad site number, changing nothing', () => {
    const noFlag = runCli(['hq', 'add-site', '13'], env(), 'a-long-site-password\n');
    expect(noFlag.status).toBe(1);
    expect(noFlag.stderr).toMatch(/--password-stdin/);
    const bad = runCli(['hq', 'add-site', '5000', '--password-stdin'], env(), 'a-long-site-password\n');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/1-1023/);
  });

  it('hq prune-changes prunes through the SQL function and refuses a bad horizon, changing nothing', async () => {
    const bad = runCli(['hq', 'prune-changes', '--horizon-days', '0'], env());
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--horizon-days: must be a whole number of days/);
    const ok = runCli(['hq', 'prune-changes', '--horizon-days', '7'], env());
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^pruned \d+ change-log entries every site had pulled, \d+ older than 7 days$/m);
    expect(ok.status).toBe(0);
  });

  it('hash-password prints a hash in the gateway format', () => {
    const res = runCli(['hash-password'], env(), 'correct horse battery\n');
    expect(res.status).toBe(0);
    expect(res.stdout.trim()).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  });

  it('sync now pushes and pulls with progress and exits 0; sync status prints the status JSON', async () => {
    const created = runCli(['user', 'create', '--username', 'floor1', '--role', 'worker'], env());
    expect(created.status).toBe(0);
    await hqRows(hq, "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (12, 'CLI', 'L', 1, now(), now())");
    const res = runCli(['sync', 'now'], env());
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/pushed \d+ rows/);
    expect(res.stdout).toMatch(/pulled 1 changes/);
    expect(await hqRows(hq, "SELECT username FROM users WHERE site_id = 12 AND username = 'floor1'")).toEqual([{ username: 'floor1' }]);
    const status = runCli(['sync', 'status'], env());
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ enabled: true, online: true, backlog: 0, oldest_unsynced_at: null, last_error: null, rejected: [] });
  });

  it('sync replay-rejected re-sends a row set aside once its cause is fixed, exactly once', async () => {
    await hqRows(hq, 'ALTER TABLE machine_readings ADD CONSTRAINT cli_value_cap CHECK (value < 1000)');
    const refusedId = 12 * 2 ** 40 + 900_001;
    const db = new Database(path.join(dir, 'gateway.db'));
    try {
      // Written as an operator's sqlite3 shell would: captured like the gateway's own writes.
      const put = db.prepare(
        "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temperature', ?, 'celsius', 'good', NULL, ?, ?)",
      );
      const now = Date.now();
      db.transaction(() => {
        put.run(refusedId, 5000, now, now);
        put.run(refusedId + 1, 5, now, now);
      })();
      db.prepare("UPDATE users SET role = 'wizard' WHERE username = 'floor1'").run();
    } finally {
      db.close();
    }
    const readingsAtHq = async () => (await hqRows<{ n: number }>(hq, 'SELECT count(*)::int AS n FROM machine_readings WHERE id = $1', [refusedId]))[0]?.n;
    const status = () => JSON.parse(runCli(['sync', 'status'], env()).stdout) as SyncStatus;

    const first = runCli(['sync', 'now'], env());
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/, 2 rejected$/m);
    expect(await readingsAtHq()).toBe(0);
    expect(await hqRows(hq, 'SELECT count(*)::int AS n FROM machine_readings WHERE id = $1', [refusedId + 1])).toEqual([{ n: 1 }]);
    const before = status();
    expect(before.rejected_counts).toEqual([
      { direction: 'push', table: 'machine_readings', reason: expect.stringMatching(/cli_value_cap/), count: 1, last_at: expect.any(String) },
      { direction: 'push', table: 'users', reason: expect.stringMatching(/check constraint/), count: 1, last_at: expect.any(String) },
    ]);
    const reading = before.rejected.find((r) => r.table === 'machine_readings');
    if (!reading) throw new Error('the refused reading is not listed');
    expect(reading.key).toBe(String(refusedId));

    const help = runCli(['sync', 'replay-rejected', '--help'], env());
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: gateway sync replay-rejected \[options\] \[ids\.\.\.\]/);
    expect(help.stdout).toMatch(/--all/);
    // Neither --all nor ids (or both) is a usage error, and replays nothing.
    for (const args of [[], ['--all', String(reading.id)]]) {
      const bad = runCli(['sync', 'replay-rejected', ...args], env());
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/give --all or the ids of the set-aside rows to replay/);
    }
    expect(status().rejected).toHaveLength(2);
    await hqRows(hq, 'ALTER TABLE machine_readings DROP CONSTRAINT cli_value_cap');
    const replay = runCli(['sync', 'replay-rejected', String(reading.id)], env());
    expect(replay.stderr).toBe('');
    expect(replay.stdout).toMatch(/^replay done: 1 pushed rows queued for the next push, 0 pulled rows applied/m);
    expect(replay.status).toBe(0);
    // Once: the record went with the replay.
    const again = runCli(['sync', 'replay-rejected', String(reading.id)], env());
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`no refused row set aside with id ${reading.id}`));
    expect(status().rejected_counts).toMatchObject([{ table: 'users', count: 1 }]);

    const second = runCli(['sync', 'now'], env());
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/, 0 rejected$/m);
    expect(await readingsAtHq()).toBe(1);

    // Replayed before its cause is fixed, a row is refused and set aside again, not lost.
    expect(runCli(['sync', 'replay-rejected', '--all'], env()).stdout).toMatch(/^replay done: 1 pushed rows queued/m);
    expect(runCli(['sync', 'now'], env()).stdout).toMatch(/, 1 rejected$/m);
    expect(status().rejected_counts).toMatchObject([{ table: 'users', reason: expect.stringMatching(/check constraint/), count: 1 }]);
    expect(await hqRows(hq, "SELECT role FROM users WHERE site_id = 12 AND username = 'floor1'")).toEqual([{ role: 'worker' }]);
    expect(await readingsAtHq()).toBe(1);
  });

  it('sync now exits 1 and says why when HQ cannot be reached', () => {
    const res = runCli(['sync', 'now'], env({ HQ_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }));
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/sync failed: .*ECONNREFUSED/);
    const status = runCli(['sync', 'status'], env());
    expect(JSON.parse(status.stdout)).toMatchObject({ online: false, last_error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
