import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRowRejection } from '../../sync/hq/pool.ts';
import { isLocalRowRefusal } from '../../sync/local-refusal.ts';
import { pushOnce } from '../../sync/push.ts';
import { replayRejected } from '../../sync/replay.ts';
import type { SyncStatus } from '../../sync/status.ts';
import { ConsoleAgent } from '../console-helpers.ts';
import { body, rowCount, T0 } from '../helpers/app.ts';
import { createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

let hq: Hq;
const urls = new Map<number, string>();
beforeAll(async () => {
  hq = await startHq();
  for (const site of [21, 22, 23, 24, 25]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
});

const site = (n: number) => {
  const url = urls.get(n);
  if (!url) throw new Error(`site ${n} not registered`);
  return url;
};
const count = async (sql: string, params: unknown[] = []) => Number((await hqRows<{ n: number }>(hq, sql, params))[0]?.n);
const cursor = (n: number) => count('SELECT last_seq AS n FROM sync_push_cursor WHERE site_id = $1', [n]);
const roleOf = async (n: number) => (await hqRows<{ role_name: string }>(hq, 'SELECT role_name FROM sync_sites WHERE site_id = $1', [n]))[0]?.role_name ?? '';
const backlog = (e: Edge) => rowCount(e.gw.ctx, 'sync_outbox');

/** Readings of machine 1 with these values in one local transaction; returns their ids. */
function insertReadings(e: Edge, values: number[]): number[] {
  const store = e.gw.ctx.store;
  const put = store.sqlite.prepare(
    "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temperature', ?, 'celsius', 'good', NULL, ?, ?)",
  );
  return store.commandNow(() => {
    const first = store.ids.block('machine_readings', values.length);
    const ids = values.map((_, i) => first + i);
    for (const [i, v] of values.entries()) put.run(first + i, v, T0 + i, T0 + i);
    return ids;
  });
}

async function status(e: Edge): Promise<SyncStatus> {
  const admin = (await e.gw.login('admin')).token;
  return (await body<SyncStatus>(await e.gw.req('GET', '/sync/status', { token: admin }))).data;
}

describe('HQ faults of the system are retried, refusals of a row are set aside', () => {
  it('a REVOKE on HQ during a push fails the whole batch; after the GRANT every row arrives once', async (ctx) => {
    if (hq.server.kind === 'pglite') ctx.skip(); // PGlite has one login: pushes run as the owner
    const edge = startEdge(21, site(21));
    const role = await roleOf(21);
    try {
      const planner = (await edge.gw.login('planner')).token;
      await edge.sync.runCycle();
      const before = await cursor(21);
      await hqRows(hq, `REVOKE INSERT ON machine_readings FROM "${role}"`);
      const ids = insertReadings(
        edge,
        Array.from({ length: 300 }, (_, i) => i),
      );
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'REVOKED' });
      // Twice: a retry while the fault lasts changes nothing either.
      for (let i = 0; i < 2; i++) {
        await expect(edge.sync.runCycle()).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
        expect(rowCount(edge.gw.ctx, 'sync_rejected')).toBe(0);
        expect(await cursor(21)).toBe(before);
      }
      // The batch is whole or nothing: the work order waits with the readings.
      expect(await count('SELECT count(*) AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(0);
      expect(backlog(edge)).toBeGreaterThan(300);
      expect(await status(edge)).toMatchObject({ online: false, last_error: expect.stringMatching(/permission denied/), rejected: [], rejected_counts: [] });

      await hqRows(hq, `GRANT INSERT ON machine_readings TO "${role}"`);
      await edge.sync.runCycle();
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      expect(await cursor(21)).toBeGreaterThan(before);
      expect(
        await hqRows(hq, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM machine_readings WHERE site_id = 21 AND id = ANY($1::bigint[])', [ids]),
      ).toEqual([{ n: 300, d: 300 }]);
      expect(await count('SELECT count(*) AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(1);
      expect(rowCount(edge.gw.ctx, 'sync_rejected')).toBe(0);
    } finally {
      await hqRows(hq, `GRANT INSERT ON machine_readings TO "${role}"`);
      await edge.close();
    }
  });

  it('sets aside only the rows HQ refuses (a check violation), pushes the rest, and counts them by table and reason', async () => {
    const edge = startEdge(22, site(22));
    try {
      await hqRows(hq, 'ALTER TABLE machine_readings ADD CONSTRAINT test_value_cap CHECK (value < 1000)');
      const planner = (await edge.gw.login('planner')).token;
      const worker = (await edge.gw.login('worker')).id;
      edge.gw.ctx.store.sqlite.prepare("UPDATE users SET role = 'wizard' WHERE id = ?").run(worker);
      const ids = insertReadings(edge, [1, 5000, 2, 6000, 3, 7000, 4]);
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'AFTER-REFUSAL' });
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      expect(await count('SELECT count(*) AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(1);
      expect(
        (await hqRows<{ value: number }>(hq, 'SELECT value FROM machine_readings WHERE id = ANY($1::bigint[]) ORDER BY id', [ids])).map((r) => r.value),
      ).toEqual([1, 2, 3, 4]);
      const s = await status(edge);
      expect(s.rejected_counts).toEqual([
        { direction: 'push', table: 'machine_readings', reason: expect.stringMatching(/test_value_cap/), count: 3, last_at: expect.any(String) },
        { direction: 'push', table: 'users', reason: expect.stringMatching(/check constraint/), count: 1, last_at: expect.any(String) },
      ]);
      expect(s.rejected.map((r) => r.key).sort()).toEqual([...[ids[1], ids[3], ids[5]].map(String), String(worker)].sort());
      // The console's System page shows the same counts.
      const manager = await edge.gw.login('manager');
      const agent = new ConsoleAgent(edge.gw);
      await agent.signIn(manager.username, manager.password);
      const page = await (await agent.get('/console/system')).text();
      expect(page).toContain('data-sync-set-aside="4"');
      expect(page).toMatch(/<td>push<\/td><td>machine_readings<\/td><td>[^<]*test_value_cap[^<]*<\/td><td>3<\/td>/);
      expect(page).toMatch(/<td>push<\/td><td>users<\/td><td>[^<]*check constraint[^<]*<\/td><td>1<\/td>/);
    } finally {
      await hqRows(hq, 'ALTER TABLE machine_readings DROP CONSTRAINT IF EXISTS test_value_cap');
      await edge.close();
    }
  });

  it("sets aside a row HQ's row-level security policy refuses, as a row", async (ctx) => {
    if (hq.server.kind === 'pglite') ctx.skip(); // PGlite has one login: pushes run as the owner
    const edge = startEdge(23, site(23));
    try {
      // HQ's policy: no site registers a machine in quarantine.
      await hqRows(hq, "CREATE POLICY test_no_quarantine ON machines AS RESTRICTIVE FOR INSERT WITH CHECK (location IS DISTINCT FROM 'quarantine')");
      const admin = (await edge.gw.login('admin')).token;
      const planner = (await edge.gw.login('planner')).token;
      const refused = await body<{ id: number }>(
        await edge.gw.req('POST', '/machines', { token: admin, body: { name: 'q-press', machine_type: 'press', location: 'quarantine' } }),
      );
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'AFTER-RLS' });
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      expect(await count('SELECT count(*) AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(1);
      expect(await count('SELECT count(*) AS n FROM machines WHERE id = $1', [refused.data.id])).toBe(0);
      expect((await status(edge)).rejected_counts).toEqual([
        { direction: 'push', table: 'machines', reason: expect.stringMatching(/row-level security/), count: 1, last_at: expect.any(String) },
      ]);
    } finally {
      await hqRows(hq, 'DROP POLICY IF EXISTS test_no_quarantine ON machines');
      await edge.close();
    }
  });
});

describe('pulled rows the edge cannot write', () => {
  it('a fault of the edge that is not a full disk (a trigger on a missing table) rolls the page back; nothing is set aside', async () => {
    const edge = startEdge(25, site(25));
    const sqlite = edge.gw.ctx.store.sqlite;
    const pulled = () => sqlite.prepare("SELECT count(*) AS n FROM users WHERE username = 'from-hq'").get() as { n: number };
    try {
      await edge.sync.runCycle();
      // Schema drift on the box: every write to users now fails with SQLITE_ERROR.
      sqlite.exec('CREATE TRIGGER test_drift AFTER INSERT ON users BEGIN INSERT INTO no_such_table VALUES (1); END');
      await hqRows(hq, "INSERT INTO users (site_id, username, password_hash, role) VALUES (25, 'from-hq', 'scrypt$1$1$1$a$b', 'worker')");
      // The pull may rightly stop short of the change while another test file's transaction holds HQ's horizon.
      let failure: unknown;
      for (const deadline = Date.now() + 20_000; failure === undefined && Date.now() < deadline; ) {
        failure = await edge.sync.runCycle().then(
          () => undefined,
          (err: unknown) => err,
        );
      }
      expect(failure).toMatchObject({ code: 'SQLITE_ERROR', message: expect.stringMatching(/no such table/) });
      expect(rowCount(edge.gw.ctx, 'sync_rejected')).toBe(0);
      expect(pulled().n).toBe(0);
      sqlite.exec('DROP TRIGGER test_drift');
      await pullUntil(edge, () => pulled().n === 1);
      expect(pulled().n).toBe(1);
      expect(rowCount(edge.gw.ctx, 'sync_rejected')).toBe(0);
    } finally {
      await edge.close();
    }
  });
});

describe('replaying set-aside rows', () => {
  it('a username clash refused both ways is replayed once after the floor renames its user', async () => {
    const edge = startEdge(24, site(24));
    const sqlite = edge.gw.ctx.store.sqlite;
    const deps = { sqlite, site: 24, now: () => edge.gw.ctx.clock.now(), hq: () => edge.sync.pool };
    const rejected = () => sqlite.prepare('SELECT direction, tbl FROM sync_rejected ORDER BY id').all();
    try {
      await hqRows(hq, "INSERT INTO users (site_id, username, password_hash, role) VALUES (24, 'clash', 'scrypt$1$1$1$a$b', 'planner')");
      const local = await edge.gw.login('worker', 'clash');
      // HQ refuses the floor's user (unique username), the floor refuses HQ's.
      await pullUntil(edge, () => rejected().some((r) => (r as { direction: string }).direction === 'pull'));
      expect(rejected()).toEqual([
        { direction: 'push', tbl: 'users' },
        { direction: 'pull', tbl: 'users' },
      ]);
      // Fixing the cause is a rename on the floor: its update alone is refused too (HQ has no row).
      sqlite.prepare("UPDATE users SET username = 'clash-floor' WHERE id = ?").run(local.id);
      await edge.sync.runCycle();
      expect(rejected()).toHaveLength(3);

      const r = await replayRejected(deps, 'all');
      expect(r).toMatchObject({ queued: 1, applied: 1, goneAtHq: 0, kept: [] });
      expect(rejected()).toEqual([]);
      expect(await replayRejected(deps, 'all')).toMatchObject({ queued: 0, applied: 0 });
      // The row's outbox rows (one per clock) in chunks of one: each chunk must stand on its own.
      const push = await pushOnce({ sqlite, pool: edge.sync.pool, site: 24, now: deps.now, chunkRows: 1 });
      expect(push).toMatchObject({ rows: expect.any(Number), rejected: 0 });
      await edge.sync.runCycle();
      await edge.sync.runCycle();
      expect(rejected()).toEqual([]);
      expect(backlog(edge)).toBe(0);
      expect(await hqRows(hq, "SELECT id, username, role FROM users WHERE site_id = 24 AND username LIKE 'clash%' ORDER BY username")).toEqual([
        { id: expect.any(Number), username: 'clash', role: 'planner' },
        { id: local.id, username: 'clash-floor', role: 'worker' },
      ]);
      expect(sqlite.prepare("SELECT username, role FROM users WHERE username LIKE 'clash%' ORDER BY username").all()).toEqual([
        { username: 'clash', role: 'planner' },
        { username: 'clash-floor', role: 'worker' },
      ]);
      await expect(replayRejected(deps, [1])).rejects.toThrow(/no refused row set aside with id 1/);
    } finally {
      await edge.close();
    }
  });
});

describe('classification', () => {
  const pgError = (code: string, routine?: string, message = 'x') => Object.assign(new Error(message), { code, routine });
  it.each([
    { name: '23514 check', err: pgError('23514'), row: true },
    { name: '23502 not null', err: pgError('23502'), row: true },
    { name: '23505 unique', err: pgError('23505'), row: true },
    { name: '22001 string too long', err: pgError('22001'), row: true },
    { name: '22003 numeric out of range', err: pgError('22003'), row: true },
    { name: '22008 datetime out of range', err: pgError('22008'), row: true },
    { name: '22P02 invalid text', err: pgError('22P02'), row: true },
    { name: '42501 row-level security', err: pgError('42501', 'ExecWithCheckOptions'), row: true },
    {
      name: '42501 row-level security, no routine',
      err: pgError('42501', undefined, 'new row violates row-level security policy for table "machines"'),
      row: true,
    },
    { name: '42501 missing grant', err: pgError('42501', 'aclcheck_error', 'permission denied for table machine_readings'), row: false },
    { name: '42501 missing grant, no routine', err: pgError('42501', undefined, 'permission denied for table machine_readings'), row: false },
    { name: '55P03 lock timeout', err: pgError('55P03'), row: false },
    { name: '57014 statement timeout', err: pgError('57014'), row: false },
    { name: '40001 serialization', err: pgError('40001'), row: false },
    { name: '40P01 deadlock', err: pgError('40P01'), row: false },
    { name: '53100 disk full', err: pgError('53100'), row: false },
    { name: '53300 too many connections', err: pgError('53300'), row: false },
    { name: '25006 read-only', err: pgError('25006'), row: false },
    { name: '57P01 admin shutdown', err: pgError('57P01'), row: false },
    { name: '42P01 undefined table', err: pgError('42P01'), row: false },
    { name: '42703 undefined column', err: pgError('42703'), row: false },
    { name: 'P0001 raise', err: pgError('P0001'), row: false },
    { name: '2200H sequence limit', err: pgError('2200H'), row: false },
    { name: 'unknown', err: pgError('ZZ999'), row: false },
    { name: 'a cut link', err: Object.assign(new Error('Connection terminated unexpectedly'), {}), row: false },
    { name: 'ECONNRESET', err: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), row: false },
  ])('HQ: $name → row refusal: $row', ({ err, row }) => {
    expect(isRowRejection(err)).toBe(row);
  });

  it.each([
    ['SQLITE_CONSTRAINT_UNIQUE', true],
    ['SQLITE_CONSTRAINT_CHECK', true],
    ['SQLITE_CONSTRAINT_NOTNULL', true],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', true],
    ['SQLITE_MISMATCH', true],
    ['SQLITE_TOOBIG', true],
    ['SQLITE_FULL', false],
    ['SQLITE_IOERR_WRITE', false],
    ['SQLITE_BUSY', false],
    ['SQLITE_READONLY', false],
    ['SQLITE_CORRUPT', false],
    ['SQLITE_ERROR', false],
    [undefined, false],
  ])('edge: %s → row refusal: %s', (code, row) => {
    expect(isLocalRowRefusal(Object.assign(new Error('x'), code ? { code } : {}))).toBe(row);
  });
});
