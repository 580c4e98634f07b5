import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_SHIFT } from '../../src/db/ids.ts';
import { PACKAGE_ROOT } from '../../src/lib/package-root.ts';
import { isRowRejection } from '../../sync/hq/pool.ts';
import { applyFacts } from '../../sync/hq-apply.ts';
import { restoreSite } from '../../sync/restore.ts';
import { tableSpec } from '../../sync/tables.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

// HQ keeps its rows consistent with what an edge can hold: a parent's delete takes its children
// with it, ids stay in their site's range, a fact is never silently dropped, and a site cannot
// make HQ create reading partitions for any month it likes (docs/sync.md, HQ schema).

let hq: Hq;
const urls = new Map<number, string>();
beforeAll(async () => {
  hq = await startHq();
  for (const site of [1, 2, 3, 4, 5]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
});

const url = (site: number) => {
  const u = urls.get(site);
  if (!u) throw new Error(`site ${site} not registered`);
  return u;
};
const one = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await hqRows<T>(hq, sql, params))[0];

/** Runs `fn` in a push-like transaction as the site's own role (SET LOCAL ROLE also works on PGlite); rolls back unless `commit`. */
async function asSite<T>(site: number, fn: (c: pg.PoolClient) => Promise<T>, opts: { commit?: boolean } = {}): Promise<T> {
  const role = (await one<{ role_name: string }>('SELECT role_name FROM sync_sites WHERE site_id = $1', [site]))?.role_name;
  const c = await hq.owner.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SET LOCAL ROLE "${role}"`);
    await c.query("SELECT set_config('gw.applying', $1, true)", [String(site)]);
    const out = await fn(c);
    await c.query(opts.commit ? 'COMMIT' : 'ROLLBACK');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

describe('a delete at HQ', () => {
  it('tombstones the work order, its stages, their assignments and issues in one go, and the edge follows without a refusal', async () => {
    const edge = startEdge(1, url(1));
    try {
      const planner = await edge.gw.login('planner', 'plan1');
      const worker = await edge.gw.login('worker', 'work1');
      const wo = await createWorkOrder(edge.gw, planner.token, { product_code: 'GONE' });
      const keep = await createWorkOrder(edge.gw, planner.token, { product_code: 'KEEP' });
      const [s1, s2] = wo.stages;
      if (!s1 || !s2) throw new Error('no stages');
      await edge.gw.req('POST', `/stages/${s1.id}/assignments`, { token: planner.token, body: { user_id: worker.id } });
      await edge.gw.req('POST', `/stages/${s2.id}/issue`, { token: planner.token, body: { type: 'quality', description: 'burrs' } });
      await edge.sync.runCycle();
      expect(await one('SELECT count(*)::int AS n FROM work_order_stages WHERE work_order_id = $1', [wo.id])).toEqual({ n: wo.stages.length });

      // A planner's plain SQL, as in any HQ tool.
      await hqRows(hq, 'DELETE FROM work_orders WHERE id = $1', [wo.id]);
      const hqLive = await one<Record<string, number>>(
        `SELECT (SELECT count(*)::int FROM work_orders WHERE id = $1 AND NOT _deleted) AS work_orders,
                (SELECT count(*)::int FROM work_order_stages WHERE work_order_id = $1 AND NOT _deleted) AS stages,
                (SELECT count(*)::int FROM stage_assignments WHERE stage_id = $2 AND NOT _deleted) AS assignments,
                (SELECT count(*)::int FROM issues WHERE work_order_stage_id = $3 AND NOT _deleted) AS issues`,
        [wo.id, s1.id, s2.id],
      );
      expect(hqLive).toEqual({ work_orders: 0, stages: 0, assignments: 0, issues: 0 });

      const sqlite = edge.gw.ctx.store.sqlite;
      const edgeCount = (sql: string, ...params: unknown[]) => (sqlite.prepare(sql).get(...params) as { n: number }).n;
      await pullUntil(edge, () => edgeCount('SELECT count(*) AS n FROM work_orders WHERE id = ?', wo.id) === 0);
      expect(edgeCount('SELECT count(*) AS n FROM work_orders WHERE id = ?', wo.id)).toBe(0);
      expect(edgeCount('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = ?', wo.id)).toBe(0);
      expect(edgeCount('SELECT count(*) AS n FROM stage_assignments WHERE stage_id = ?', s1.id)).toBe(0);
      expect(edgeCount('SELECT count(*) AS n FROM issues WHERE work_order_stage_id = ?', s2.id)).toBe(0);
      // Nothing refused (a 'conflict' row is the floor's version of work HQ deleted, kept on purpose).
      expect(edgeCount("SELECT count(*) AS n FROM sync_rejected WHERE direction <> 'conflict'")).toBe(0);
      expect(edgeCount('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = ?', keep.id)).toBe(keep.stages.length);
    } finally {
      await edge.close();
    }
  });

  it("tombstones a user's assignments with the user", async () => {
    const [{ id: user } = { id: 0 }] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO users (site_id, username, password_hash, role) VALUES (4, 'leaver', 'x', 'worker') RETURNING id",
    );
    const [{ id: wo } = { id: 0 }] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (4, 'U', 'L', 1, now(), now()) RETURNING id",
    );
    const [{ id: stage } = { id: 0 }] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (4, $1, 1, 'cut') RETURNING id",
      [wo],
    );
    await hqRows(hq, 'INSERT INTO stage_assignments (site_id, stage_id, user_id) VALUES (4, $1, $2)', [stage, user]);
    await hqRows(hq, 'DELETE FROM users WHERE id = $1', [user]);
    expect(await one('SELECT _deleted FROM stage_assignments WHERE stage_id = $1 AND user_id = $2', [stage, user])).toEqual({ _deleted: true });
    expect(await one('SELECT _deleted FROM work_order_stages WHERE id = $1', [stage])).toEqual({ _deleted: false });
  });

  it('mends, when migrated, the deletes made before (live children of a tombstoned parent are tombstoned, the parent logged again after them) and grants the partition helper to sites registered before', async () => {
    const dir = path.join(PACKAGE_ROOT, 'migrations', 'postgres');
    const c = await hq.owner.connect();
    try {
      await c.query('CREATE SCHEMA before_0004');
      await c.query('SET search_path TO before_0004');
      for (const f of ['0001_hq_schema.sql', '0002_site_policy_once_per_statement.sql', '0003_change_log_pruning.sql']) {
        await c.query(readFileSync(path.join(dir, f), 'utf8'));
      }
      const wo = (
        await c.query<{ id: string }>(
          "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (1, 'OLD', 'L', 1, now(), now()) RETURNING id",
        )
      ).rows[0]?.id;
      const stage = (
        await c.query<{ id: string }>("INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) VALUES (1, $1, 1, 'cut') RETURNING id", [wo])
      ).rows[0]?.id;
      await c.query("INSERT INTO issues (site_id, work_order_stage_id, type, description, created_by) VALUES (1, $1, 'quality', 'x', 1)", [stage]);
      await c.query('DELETE FROM work_orders WHERE id = $1', [wo]);
      // A site registered before 0004 (hq add-site of then): 0004 grants it the partition helper.
      const role = `${hq.server.database}_before_0004_site_1`;
      await c.query(`CREATE ROLE "${role}" NOLOGIN`);
      await c.query('INSERT INTO sync_sites (site_id, role_name) VALUES (1, $1)', [role]);
      const last = (await c.query<{ n: string }>('SELECT max(log_id) AS n FROM sync_change_log')).rows[0]?.n;
      await c.query('BEGIN');
      await c.query(readFileSync(path.join(dir, '0004_hq_integrity.sql'), 'utf8'));
      await c.query('COMMIT');
      const live = await c.query(
        'SELECT (SELECT count(*)::int FROM work_order_stages WHERE NOT _deleted) AS stages, (SELECT count(*)::int FROM issues WHERE NOT _deleted) AS issues',
      );
      expect(live.rows).toEqual([{ stages: 0, issues: 0 }]);
      const logged = await c.query('SELECT tbl, pk FROM sync_change_log WHERE log_id > $1 ORDER BY log_id', [last]);
      expect(logged.rows.map((r) => r.tbl)).toEqual(['issues', 'work_order_stages', 'work_orders']);
      expect(logged.rows.at(-1)).toEqual({ tbl: 'work_orders', pk: String(wo) });
      const may = await c.query('SELECT has_function_privilege($1, $2, $3) AS ok', [role, 'gw_ensure_reading_partitions(timestamptz, timestamptz)', 'EXECUTE']);
      expect(may.rows).toEqual([{ ok: true }]);
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      await c.query('SET search_path TO public').catch(() => {});
      c.release();
    }
  });
});

describe('restore', () => {
  it('succeeds after HQ deleted a work order with stages and skips an orphan HQ holds, naming it', async () => {
    const old = startEdge(3, url(3));
    const planner = await old.gw.login('planner', 'plan3');
    const worker = await old.gw.login('worker', 'work3');
    const gone = await createWorkOrder(old.gw, planner.token, { product_code: 'GONE' });
    const kept = await createWorkOrder(old.gw, planner.token, { product_code: 'KEPT' });
    const [g1] = gone.stages;
    const [k1] = kept.stages;
    if (!g1 || !k1) throw new Error('no stages');
    await old.gw.req('POST', `/stages/${g1.id}/assignments`, { token: planner.token, body: { user_id: worker.id } });
    await act(old.gw, planner.token, k1.id, 'start');
    await old.sync.runCycle();
    await old.close(); // the box is gone

    await hqRows(hq, 'DELETE FROM work_orders WHERE id = $1', [gone.id]);
    // An orphan no HQ rule lets through any more: a stage of a work order HQ has never held, with
    // an assignment, written with the triggers off as a restore from an old dump would.
    const orphanStage = 3 * SITE_SHIFT + 900_001;
    const c = await hq.owner.connect();
    try {
      await c.query('BEGIN');
      await c.query("SET LOCAL session_replication_role = 'replica'");
      await c.query("INSERT INTO work_order_stages (site_id, id, work_order_id, seq, stage_name) VALUES (3, $1, $2, 1, 'lost')", [
        orphanStage,
        3 * SITE_SHIFT + 900_000,
      ]);
      await c.query('INSERT INTO stage_assignments (site_id, stage_id, user_id) VALUES (3, $1, $2)', [orphanStage, worker.id]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }

    const fresh = startEdge(3, url(3));
    try {
      const lines: string[] = [];
      const result = await restoreSite(fresh.gw.ctx.store.sqlite, fresh.sync.pool, 3, (l) => lines.push(l));
      expect(result.counts).toMatchObject({ work_orders: 1, work_order_stages: kept.stages.length, stage_assignments: 0 });
      expect(result.skipped).toEqual([
        { tbl: 'work_order_stages', pk: String(orphanStage), reason: `work_orders ${3 * SITE_SHIFT + 900_000} is deleted or missing at HQ` },
        { tbl: 'stage_assignments', pk: `${orphanStage}:${worker.id}`, reason: `work_order_stages ${orphanStage} is skipped` },
      ]);
      expect(lines.join('\n')).toContain(
        `skipped 2 rows whose parent HQ does not hold: work_order_stages ${orphanStage}, stage_assignments ${orphanStage}:${worker.id}`,
      );
      expect(lines.at(-1)).toMatch(/restore: done/);
      const sqlite = fresh.gw.ctx.store.sqlite;
      expect(sqlite.prepare('SELECT product_code FROM work_orders').all()).toEqual([{ product_code: 'KEPT' }]);
      expect(sqlite.prepare('SELECT status FROM work_order_stages WHERE id = ?').get(k1.id)).toEqual({ status: 'in_progress' });
    } finally {
      await fresh.close();
    }
  });
});

describe('site id ranges', () => {
  const site1Id = SITE_SHIFT + 777;
  const T = Date.now();

  it("refuses a site's row with an id from another site's range, or a new one from HQ's", async () => {
    const insertAs = (site: number, sql: string, params: unknown[]) => asSite(site, (c) => c.query(sql, params));
    const wo = 'INSERT INTO work_orders (site_id, id, product_code, lot_no, qty, planned_start, planned_end) VALUES ($1, $2, $3, $4, 1, now(), now())';
    await expect(insertAs(2, wo, [2, site1Id, 'SQUAT', 'L'])).rejects.toThrow(/site_range/);
    await expect(insertAs(2, wo, [2, 99, 'SQUAT', 'L'])).rejects.toThrow(/HQ's range/);
    // A row for another site is refused by row-level security, as before.
    await expect(insertAs(2, wo, [1, SITE_SHIFT + 778, 'SQUAT', 'L'])).rejects.toThrow(/row-level security/);
    await expect(
      insertAs(
        2,
        "INSERT INTO events (site_id, id, kind, entity_type, entity_id, occurred_at, recorded_at) VALUES (2, $1, 'stage.started', 'stage', 1, now(), now())",
        [site1Id],
      ),
    ).rejects.toThrow(/site_range/);
    await expect(
      insertAs(
        2,
        "INSERT INTO machine_readings (site_id, id, machine_id, reading_type, quality, source_ts, recorded_at) VALUES (2, $1, 1, 't', 'good', now(), now())",
        [site1Id],
      ),
    ).rejects.toThrow(/site_range/);
    await expect(insertAs(2, 'INSERT INTO stage_assignments (site_id, stage_id, user_id) VALUES (2, $1, $2)', [site1Id, 2 * SITE_SHIFT + 1])).rejects.toThrow(
      /site_range/,
    );
    // Its own range is fine; so is HQ's for a row HQ created for the site (a push of a change to it).
    await insertAs(2, wo, [2, 2 * SITE_SHIFT + 777, 'OWN', 'L']);
    const [{ id: hqMade } = { id: 0 }] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (2, 'HQ', 'L', 1, now(), now()) RETURNING id",
    );
    await insertAs(2, `${wo} ON CONFLICT (id) DO UPDATE SET lot_no = EXCLUDED.lot_no`, [2, hqMade, 'HQ', 'L2']);
  });

  it("sets aside, with the reason, rows a box wrote with another site's ids (an operator's sqlite3 shell), and pushes the rest", async () => {
    const edge = startEdge(2, url(2));
    try {
      const sqlite = edge.gw.ctx.store.sqlite;
      const planner = await edge.gw.login('planner', 'plan2');
      sqlite
        .prepare(
          "INSERT INTO work_orders (id, product_code, lot_no, qty, planned_start, planned_end, status, created_at, updated_at) VALUES (?, 'SQUAT', 'L', 1, 0, 0, 'planned', 0, 0)",
        )
        .run(SITE_SHIFT + 4242);
      sqlite
        .prepare("INSERT INTO events (id, kind, entity_type, entity_id, occurred_at, recorded_at) VALUES (?, 'stage.started', 'stage', 1, ?, ?)")
        .run(SITE_SHIFT + 4243, T, T);
      const own = await createWorkOrder(edge.gw, planner.token, { product_code: 'OWN2' });
      await edge.sync.runCycle();
      const rejected = sqlite.prepare("SELECT tbl, pk, reason FROM sync_rejected WHERE direction = 'push' ORDER BY tbl").all();
      expect(rejected).toEqual([
        { tbl: 'events', pk: String(SITE_SHIFT + 4243), reason: expect.stringMatching(/events_site_range/) },
        { tbl: 'work_orders', pk: String(SITE_SHIFT + 4242), reason: expect.stringMatching(/work_orders_site_range/) },
      ]);
      expect(await one('SELECT count(*)::int AS n FROM work_orders WHERE id = $1 OR id = $2', [SITE_SHIFT + 4242, own.id])).toEqual({ n: 1 });
    } finally {
      await edge.close();
    }
  });

  it('records an event or reading sent again with other content; an identical resend stays silent', async () => {
    const event = {
      id: 2 * SITE_SHIFT + 501,
      kind: 'stage.started',
      entity_type: 'stage',
      entity_id: 5,
      work_order_id: null,
      from_status: 'planned',
      to_status: 'in_progress',
      occurred_at: T + 1,
      recorded_at: T + 2,
      actor_user_id: 3,
      request_id: 'r1',
      data: JSON.stringify({ b: 1, a: [1, 2] }),
    };
    const reading = {
      id: 2 * SITE_SHIFT + 502,
      machine_id: 1,
      reading_type: 'temp',
      value: 21.5,
      unit: 'C',
      quality: 'good',
      reason: null,
      source_ts: T + 3,
      recorded_at: T + 4,
    };
    const send = (table: string, rows: Array<Record<string, unknown>>, careful = false) =>
      asSite(2, (c) => applyFacts(c, tableSpec(table), rows, 2, careful, isRowRejection), { commit: true });
    expect(await send('events', [event])).toEqual([]);
    expect(await send('machine_readings', [reading])).toEqual([]);
    // The same rows again (a resend: exactly once in effect), JSON with its keys in another order.
    expect(await send('events', [{ ...event, data: JSON.stringify({ a: [1, 2], b: 1 }) }])).toEqual([]);
    expect(await send('machine_readings', [reading], true)).toEqual([]);
    // The same ids with other content: not stored, and said so.
    const other = { ...event, kind: 'stage.done' };
    for (const careful of [false, true]) {
      const rejected = await send('events', [other, { ...event, id: event.id + 10 }], careful);
      expect(rejected).toEqual([{ tbl: 'events', pk: String(event.id), data: JSON.stringify(other), reason: expect.stringMatching(/other content/) }]);
    }
    expect(await send('machine_readings', [{ ...reading, value: 99 }])).toMatchObject([{ tbl: 'machine_readings', pk: String(reading.id) }]);
    expect(await one('SELECT kind FROM events WHERE id = $1', [event.id])).toEqual({ kind: 'stage.started' });
    expect(await one('SELECT value FROM machine_readings WHERE id = $1', [reading.id])).toEqual({ value: 21.5 });
  });
});

describe('reading partitions', () => {
  const partitions = async () =>
    (
      await hqRows<{ name: string }>(
        hq,
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'machine_readings'::regclass ORDER BY 1",
      )
    ).map((r) => r.name);

  it('creates none for a site outside the window around now, and a reading stamped 1970 lands in the default partition', async () => {
    const before = await partitions();
    expect(before).toContain('machine_readings_default');
    for (const [from, to] of [
      ['1970-01-01T00:00Z', '1970-12-31T00:00Z'],
      ['2100-01-01T00:00Z', '2100-06-01T00:00Z'],
    ]) {
      const created = await asSite(5, async (c) => (await c.query<{ n: number }>('SELECT gw_ensure_reading_partitions($1, $2) AS n', [from, to])).rows[0]?.n, {
        commit: true,
      });
      expect(created).toBe(0);
    }
    expect(await partitions()).toEqual(before);

    const edge = startEdge(5, url(5));
    try {
      edge.gw.ctx.store.commandNow(() => {
        const id = edge.gw.ctx.store.ids.next('machine_readings');
        edge.gw.ctx.store.sqlite
          .prepare(
            "INSERT INTO machine_readings (id, machine_id, reading_type, value, quality, source_ts, recorded_at) VALUES (?, 1, 'temp', 20, 'good', 5000, 5000)",
          )
          .run(id);
      });
      await edge.sync.runCycle();
    } finally {
      await edge.close();
    }
    expect(await partitions()).toEqual(before);
    expect(await hqRows(hq, 'SELECT tableoid::regclass::text AS part, recorded_at FROM machine_readings WHERE site_id = 5')).toEqual([
      { part: 'machine_readings_default', recorded_at: new Date(5000) },
    ]);
    // The owner may create any month; rows waiting in the default partition move into it.
    await hqRows(hq, "SELECT gw_create_reading_partitions('1970-01-01T00:00Z', '1970-01-01T00:00Z')");
    expect(await hqRows(hq, 'SELECT tableoid::regclass::text AS part FROM machine_readings WHERE site_id = 5')).toEqual([{ part: 'machine_readings_1970_01' }]);
  });

  it('lets site roles, and no one else, call the partition helper', async () => {
    const site = (await one<{ role_name: string }>('SELECT role_name FROM sync_sites WHERE site_id = 5'))?.role_name;
    const db = hq.server.database;
    await hqRows(hq, `CREATE ROLE "${db}_nobody" NOLOGIN`);
    const may = async (role: string, fn: string) => (await one<{ ok: boolean }>('SELECT has_function_privilege($1, $2, $3) AS ok', [role, fn, 'EXECUTE']))?.ok;
    expect(await may(site ?? '', 'gw_ensure_reading_partitions(timestamptz, timestamptz)')).toBe(true);
    expect(await may(`${db}_nobody`, 'gw_ensure_reading_partitions(timestamptz, timestamptz)')).toBe(false);
    expect(await may(site ?? '', 'gw_create_reading_partitions(timestamptz, timestamptz)')).toBe(false);
  });
});
