import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body } from '../helpers/app.ts';
import { createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, pullUntil, startEdge, startHq } from './fixture.ts';

let hq: Hq;
const urls = new Map<number, string>();
beforeAll(async () => {
  hq = await startHq();
  for (const site of [3, 4, 5, 6, 7, 8]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
/** Each edge is a fresh database, so each test uses a site of its own. */
const site = (n: number) => {
  const url = urls.get(n);
  if (!url) throw new Error(`site ${n} not registered`);
  return url;
};
afterAll(async () => {
  await hq?.close();
});

const count = async (sql: string, params: unknown[] = []) => Number((await hqRows<{ n: number }>(hq, sql, params))[0]?.n);
const backlog = (e: Edge) => (e.gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;

describe('sync guarantees', () => {
  it('applies a batch once when the edge never learned HQ committed it (resend changes nothing)', async () => {
    let cut: 'before-commit' | 'after-commit' | undefined = 'after-commit';
    const edge = startEdge(3, site(3), {
      hooks: (point) => {
        if (point === cut) throw new Error(`link cut ${point}`);
      },
    });
    try {
      const planner = (await edge.gw.login('planner')).token;
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'RESEND' });
      await expect(edge.sync.runCycle()).rejects.toThrow(/link cut after-commit/);
      expect(backlog(edge)).toBeGreaterThan(0);
      expect(await count('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = $1', [wo.id])).toBe(4);
      const events = await count('SELECT count(*) AS n FROM events WHERE site_id = 3');
      const status = await body<{ online: boolean; last_error: string; backlog: number }>(
        await edge.gw.req('GET', '/sync/status', { token: (await edge.gw.login('admin')).token }),
      );
      expect(status.data).toMatchObject({ online: false, last_error: 'link cut after-commit' });
      cut = 'before-commit';
      await expect(edge.sync.runCycle()).rejects.toThrow(/link cut before-commit/);
      cut = undefined;
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      expect(await count('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = $1', [wo.id])).toBe(4);
      // Only the admin created for the status call added event-free rows; no event was applied twice.
      expect(await count('SELECT count(*) AS n FROM events WHERE site_id = 3')).toBe(events);
    } finally {
      await edge.close();
    }
  });

  it('keeps the order of its own changes when its clock is set back an hour', async () => {
    const edge = startEdge(5, site(5));
    try {
      const planner = (await edge.gw.login('planner')).token;
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'CLOCK' });
      await edge.sync.runCycle();
      const s = edge.gw.ctx.store.sqlite;
      // The box's clock ran an hour fast while it wrote qty 2, then was set back before qty 3.
      s.prepare('UPDATE sync_state SET wall = ? WHERE id = 1').run(Date.now() + 3600_000);
      s.prepare('UPDATE work_orders SET qty = 2 WHERE id = ?').run(wo.id);
      s.prepare('UPDATE work_orders SET qty = 3 WHERE id = ?').run(wo.id);
      await edge.sync.runCycle();
      expect((await hqRows(hq, 'SELECT qty FROM work_orders WHERE id = $1', [wo.id]))[0]).toEqual({ qty: 3 });
      // An HQ planner's later change still wins over both (its clock continues past the row's).
      await hqRows(hq, 'UPDATE work_orders SET qty = 4 WHERE id = $1', [wo.id]);
      const localQty = async () => (await body<{ qty: number }>(await edge.gw.req('GET', `/workorders/${wo.id}`, { token: planner }))).data.qty;
      await pullUntil(edge, async () => (await localQty()) === 4);
      expect(await localQty()).toBe(4);
    } finally {
      await edge.close();
    }
  });

  it('pulls an HQ transaction that commits after a later one', async (ctx) => {
    if (hq.server.kind === 'pglite') ctx.skip(); // PGlite runs one transaction at a time
    const edge = startEdge(6, site(6));
    const late = await hq.owner.connect();
    try {
      await late.query('BEGIN');
      await late.query("INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (6, 'LATE', 'L', 1, now(), now())");
      await hqRows(hq, "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (6, 'EARLY', 'L', 1, now(), now())");
      await edge.sync.runCycle();
      await late.query('COMMIT');
      const planner = (await edge.gw.login('planner')).token;
      const count = async (code: string) =>
        (await body<unknown[]>(await edge.gw.req('GET', `/workorders?product_code=${code}`, { token: planner }))).data.length;
      await pullUntil(edge, async () => (await count('LATE')) > 0 && (await count('EARLY')) > 0);
      for (const code of ['LATE', 'EARLY']) expect(await count(code), code).toBe(1);
    } finally {
      late.release();
      await edge.close();
    }
  });

  it('lets a site role read and write only its own rows', async () => {
    await hqRows(hq, "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (4, 'SITE4', 'L', 1, now(), now())");
    const role = (await hqRows<{ role_name: string }>(hq, 'SELECT role_name FROM sync_sites WHERE site_id = 3'))[0]?.role_name;
    const c = await hq.owner.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL ROLE "${role}"`);
      expect((await c.query("SELECT count(*)::int AS n FROM work_orders WHERE product_code = 'SITE4'")).rows[0]).toEqual({ n: 0 });
      expect((await c.query("UPDATE work_orders SET qty = 99 WHERE product_code = 'SITE4'")).rowCount).toBe(0);
      expect((await c.query('SELECT count(*)::int AS n FROM sync_change_log WHERE site_id = 4')).rows[0]).toEqual({ n: 0 });
      expect((await c.query('UPDATE sync_push_cursor SET last_seq = 0 WHERE site_id = 4')).rowCount).toBe(0);
      await c.query('SAVEPOINT s');
      await expect(
        c.query("INSERT INTO work_orders (site_id, id, product_code, lot_no, qty, planned_start, planned_end) VALUES (4, 99, 'X', 'L', 1, now(), now())"),
      ).rejects.toThrow(/row-level security/);
      await c.query('ROLLBACK TO SAVEPOINT s');
      await expect(c.query('DELETE FROM work_orders')).rejects.toThrow(/permission denied/);
    } finally {
      await c.query('ROLLBACK').catch(() => {});
      c.release();
    }
    expect((await hqRows(hq, "SELECT qty FROM work_orders WHERE product_code = 'SITE4'"))[0]).toEqual({ qty: 1 });
  });

  it('sets a row HQ refuses aside with its reason and pushes the rest', async () => {
    const edge = startEdge(7, site(7));
    try {
      const planner = (await edge.gw.login('planner')).token;
      const s = edge.gw.ctx.store.sqlite;
      // A role HQ does not accept (an operator typo in the sqlite3 shell), then a valid work order.
      const user = (await edge.gw.login('worker')).id;
      s.prepare("UPDATE users SET role = 'wizard' WHERE id = ?").run(user);
      const wo = await createWorkOrder(edge.gw, planner, { product_code: 'AFTER-BAD' });
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      expect(await count('SELECT count(*) AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(1);
      const admin = (await edge.gw.login('admin')).token;
      const status = await body<{ rejected: Array<{ table: string; key: string; reason: string }> }>(
        await edge.gw.req('GET', '/sync/status', { token: admin }),
      );
      expect(status.data.rejected).toMatchObject([{ table: 'users', key: String(user), reason: expect.stringMatching(/check constraint/) }]);
    } finally {
      await edge.close();
    }
  });

  it('keeps the record of a row HQ refused when the edge never learned HQ committed, once, also across a failed commit', async () => {
    let cut: 'before-commit' | 'after-commit' | undefined = 'before-commit';
    const edge = startEdge(8, site(8), {
      hooks: (point) => {
        if (point === cut) throw new Error(`edge died ${point}`);
      },
    });
    try {
      const s = edge.gw.ctx.store.sqlite;
      const user = (await edge.gw.login('worker')).id;
      s.prepare("UPDATE users SET role = 'wizard' WHERE id = ?").run(user);
      // Refused and recorded, then HQ rolls back; refused again and recorded (not twice), HQ
      // commits, the edge never hears; the resend skips the row at HQ and keeps the one record.
      await expect(edge.sync.runCycle()).rejects.toThrow(/edge died before-commit/);
      cut = 'after-commit';
      await expect(edge.sync.runCycle()).rejects.toThrow(/edge died after-commit/);
      expect(backlog(edge)).toBeGreaterThan(0);
      cut = undefined;
      await edge.sync.runCycle();
      expect(backlog(edge)).toBe(0);
      const admin = (await edge.gw.login('admin')).token;
      const status = await body<{ rejected: Array<{ table: string; key: string; reason: string }> }>(
        await edge.gw.req('GET', '/sync/status', { token: admin }),
      );
      expect(status.data.rejected).toMatchObject([{ table: 'users', key: String(user), reason: expect.stringMatching(/check constraint/) }]);
    } finally {
      await edge.close();
    }
  });

  it('refuses to push from a database HQ does not know for the site', async () => {
    const edge = startEdge(3, site(3));
    try {
      await edge.gw.login('planner');
      await expect(edge.sync.runCycle()).rejects.toThrow(/not the database HQ knows/);
    } finally {
      await edge.close();
    }
  });
});
