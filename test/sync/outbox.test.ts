import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/store.ts';
import { createHqPool } from '../../sync/hq/pool.ts';
import { ackThrough, BACKLOG_SQL } from '../../sync/outbox.ts';
import { pushOnce } from '../../sync/push.ts';
import { enqueueFactsAhead, enqueueSnapshot } from '../../sync/snapshot.ts';
import { enableCaptureGradually, getMeta } from '../../sync/state.ts';
import { tableSpec } from '../../sync/tables.ts';
import { readSyncStatus } from '../../sync/status.ts';
import { body } from '../helpers/app.ts';
import { createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

let hq: Hq;
const urls = new Map<number, string>();
const dirs: string[] = [];
beforeAll(async () => {
  hq = await startHq();
  for (const site of [31, 32, 33]) urls.set(site, await hq.addSite(site));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const url = (site: number) => urls.get(site) ?? '';
const count = async (sql: string, params: unknown[] = []) => Number((await hqRows<{ n: string }>(hq, sql, params))[0]?.n);

/** What a full scan would say: the rows in the outbox and the capture time of the oldest. */
function scanned(e: Edge): { backlog: number; oldest: string | null } {
  const r = e.gw.ctx.store.sqlite.prepare('SELECT count(*) AS n, min(at) AS at FROM sync_outbox').get() as { n: number; at: number | null };
  return { backlog: r.n, oldest: r.at === null ? null : new Date(r.at).toISOString() };
}
const status = (e: Edge) => {
  const s = readSyncStatus(e.gw.ctx.store.sqlite, true);
  return { backlog: s.backlog, oldest: s.oldest_unsynced_at };
};

describe('sync status without scanning the outbox', () => {
  it('counts the backlog and its oldest row across enqueue, push, a lost acknowledgement and the resend', async () => {
    let cut = true;
    const e = startEdge(31, url(31), {
      hooks: (point) => {
        if (cut && point === 'after-commit') throw new Error('edge died after HQ committed');
      },
    });
    try {
      const planner = (await e.gw.login('planner')).token;
      await createWorkOrder(e.gw, planner, { product_code: 'STATUS' });
      const before = scanned(e);
      expect(before.backlog).toBeGreaterThan(5);
      expect(status(e)).toEqual(before);

      await expect(e.sync.runCycle()).rejects.toThrow(/edge died/);
      // HQ has the rows, the edge never heard: still waiting, and still counted.
      expect(status(e)).toEqual(before);

      // A part of an acknowledgement (the push acknowledges a chunk per transaction).
      ackThrough(e.gw.ctx.store.sqlite, Number.MAX_SAFE_INTEGER, 2);
      expect(status(e)).toEqual(scanned(e));
      expect(status(e).backlog).toBe(before.backlog - 2);

      cut = false;
      await e.sync.runCycle();
      expect(status(e)).toEqual({ backlog: 0, oldest: null });
      const admin = (await e.gw.login('admin')).token;
      const viaApi = await body<{ backlog: number; oldest_unsynced_at: string | null }>(await e.gw.req('GET', '/sync/status', { token: admin }));
      // Logging the admin in wrote rows of its own (a user, an event): counted like any other.
      expect({ backlog: viaApi.data.backlog, oldest: viaApi.data.oldest_unsynced_at }).toEqual(scanned(e));
      expect(viaApi.data.backlog).toBeGreaterThan(0);
    } finally {
      await e.close();
    }
  });

  it('reads the backlog by index lookups only (no scan of sync_outbox, no sort)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-outbox-'));
    dirs.push(dir);
    const store = openStore(path.join(dir, 'gateway.db'), 1);
    try {
      for (const sql of Object.values(BACKLOG_SQL)) {
        const plan = (store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail);
        expect(plan.some((d) => /sync_outbox/.test(d))).toBe(sql.includes('FROM sync_outbox'));
        for (const d of plan) {
          expect(d).not.toMatch(/^SCAN sync_outbox|TEMP B-TREE/);
          // sqlite_sequence has one row per AUTOINCREMENT table, whatever the backlog.
          if (d.startsWith('SCAN')) expect(d).toBe('SCAN sqlite_sequence');
        }
      }
    } finally {
      store.close();
    }
  });
});

describe('epochs while HQ is unreachable', () => {
  it('are closed within a few hundred ms of a write, not only at the next retry (>= 1 s away)', async () => {
    const e = startEdge(34, 'postgres://nobody@127.0.0.1:1/none');
    try {
      const s = e.gw.ctx.store.sqlite;
      e.sync.start();
      const failed = Date.now() + 10_000;
      while (getMeta(s, 'last_error') === undefined && Date.now() < failed) await new Promise((r) => setTimeout(r, 10));
      expect(getMeta(s, 'online')).toBe('0');
      // Right after a failed attempt: the next one is at least a second away.
      const planner = (await e.gw.login('planner')).token;
      await createWorkOrder(e.gw, planner, { product_code: 'OFFLINE' });
      const epoch = () => (s.prepare('SELECT epoch FROM sync_state WHERE id = 1').get() as { epoch: number }).epoch;
      const newest = () => (s.prepare('SELECT max(tx) AS tx FROM sync_outbox').get() as { tx: number }).tx;
      expect(epoch()).toBe(newest());
      await new Promise((r) => setTimeout(r, 600));
      expect(epoch()).toBeGreaterThan(newest());
    } finally {
      await e.close();
    }
  });
});

describe('a batch larger than a chunk', () => {
  it('is applied at HQ in one transaction: a failure before the commit leaves none of it, the retry all of it once', async () => {
    let cut = true;
    const e = startEdge(32, url(32));
    const pool = createHqPool({ url: url(32), schema: 'public' });
    try {
      const s = e.gw.ctx.store.sqlite;
      const planner = (await e.gw.login('planner')).token;
      const wo = await createWorkOrder(e.gw, planner, { product_code: 'CHUNKS', qty: 1 });
      while ((await pushOnce({ sqlite: s, pool, site: 32, now: () => Date.now() })).more);
      // One local transaction: 50 readings and the same work order changed 30 times, so its
      // changes fall in several chunks of 7 outbox rows.
      e.gw.ctx.store.commandNow(() => {
        const first = e.gw.ctx.store.ids.block('machine_readings', 50);
        const put = s.prepare(
          "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 't', ?, 'C', 'good', NULL, ?, ?)",
        );
        for (let i = 0; i < 50; i++) {
          put.run(first + i, i, Date.now(), Date.now());
          if (i < 30) s.prepare('UPDATE work_orders SET qty = ? WHERE id = ?').run(i + 2, wo.id);
        }
      });
      const readingsBefore = await count('SELECT count(*) AS n FROM machine_readings WHERE site_id = 32');
      const cursorBefore = await count('SELECT last_seq AS n FROM sync_push_cursor WHERE site_id = 32');
      const push = () =>
        pushOnce({
          sqlite: s,
          pool,
          site: 32,
          now: () => Date.now(),
          chunkRows: 7,
          hook: (point) => {
            if (cut && point === 'before-commit') throw new Error('link cut before commit');
          },
        });
      await expect(push()).rejects.toThrow(/link cut/);
      expect(await count('SELECT count(*) AS n FROM machine_readings WHERE site_id = 32')).toBe(readingsBefore);
      expect(await count('SELECT qty AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(1);
      expect(await count('SELECT last_seq AS n FROM sync_push_cursor WHERE site_id = 32')).toBe(cursorBefore);
      cut = false;
      const r = await push();
      expect(r).toMatchObject({ rows: 80, rejected: 0, more: false });
      expect(await count('SELECT count(*) AS n FROM machine_readings WHERE site_id = 32')).toBe(readingsBefore + 50);
      expect(await count('SELECT qty AS n FROM work_orders WHERE id = $1', [wo.id])).toBe(31);
      expect(s.prepare('SELECT count(*) AS n FROM sync_outbox').get()).toEqual({ n: 0 });
    } finally {
      await pool.end();
      await e.close();
    }
  });

  it('sets aside a row HQ refuses in one chunk and applies the other chunks', async () => {
    const e = startEdge(33, url(33));
    const pool = createHqPool({ url: url(33), schema: 'public' });
    try {
      const s = e.gw.ctx.store.sqlite;
      const worker = (await e.gw.login('worker')).id;
      while ((await pushOnce({ sqlite: s, pool, site: 33, now: () => Date.now() })).more);
      e.gw.ctx.store.commandNow(() => {
        const first = e.gw.ctx.store.ids.block('machine_readings', 40);
        const put = s.prepare(
          "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 't', ?, 'C', 'good', NULL, ?, ?)",
        );
        for (let i = 0; i < 40; i++) {
          put.run(first + i, i, Date.now(), Date.now());
          // A role HQ does not accept, in the middle of the transaction.
          if (i === 20) s.prepare("UPDATE users SET role = 'wizard' WHERE id = ?").run(worker);
        }
      });
      const before = await count('SELECT count(*) AS n FROM machine_readings WHERE site_id = 33');
      const r = await pushOnce({ sqlite: s, pool, site: 33, now: () => Date.now(), chunkRows: 6 });
      expect(r).toMatchObject({ rows: 41, rejected: 1, more: false });
      expect(await count('SELECT count(*) AS n FROM machine_readings WHERE site_id = 33')).toBe(before + 40);
      expect(readSyncStatus(s, true).rejected).toMatchObject([{ table: 'users', key: String(worker), reason: expect.stringMatching(/check constraint/) }]);
    } finally {
      await pool.end();
      await e.close();
    }
  });
});

describe('the first snapshot', () => {
  it('enqueues a large history of facts ahead in short transactions while writes go on, and resumes after a crash', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-outbox-'));
    dirs.push(dir);
    const store = openStore(path.join(dir, 'gateway.db'), 1);
    const s = store.sqlite;
    const reading = (): number => {
      const id = store.ids.next('machine_readings');
      s.prepare(
        "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 't', 1, 'C', 'good', NULL, 0, 0)",
      ).run(id);
      return id;
    };
    try {
      store.commandNow(() => {
        for (let i = 0; i < 23; i++) reading();
      });
      // A crash after two short transactions of 5 readings each.
      expect(enqueueFactsAhead(s, tableSpec('machine_readings'), 5)).toBe(5);
      expect(enqueueFactsAhead(s, tableSpec('machine_readings'), 5)).toBe(5);
      expect(s.prepare('SELECT capture FROM sync_state WHERE id = 1').get()).toEqual({ capture: 0 });
      // The restart goes on from there, with readings stored between its transactions.
      let pauses = 0;
      const total = await enableCaptureGradually(
        s,
        async () => {
          pauses++;
          store.commandNow(() => reading());
        },
        5,
      );
      expect(pauses).toBeGreaterThan(0);
      const enqueued = s.prepare("SELECT pk FROM sync_outbox WHERE tbl = 'machine_readings' ORDER BY seq").all() as Array<{ pk: string }>;
      const stored = s.prepare('SELECT id FROM machine_readings ORDER BY id').all() as Array<{ id: number }>;
      expect(enqueued.map((r) => r.pk)).toEqual(stored.map((r) => String(r.id)));
      expect(total + 10).toBe((s.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n);
      expect(s.prepare("SELECT count(*) AS n FROM sync_meta WHERE key LIKE 'snapshot_ahead:%'").get()).toEqual({ n: 0 });
      // Capture is on: the next reading is enqueued by its trigger, once.
      const next = store.commandNow(() => reading());
      expect(s.prepare("SELECT count(*) AS n FROM sync_outbox WHERE tbl = 'machine_readings' AND pk = ?").get(String(next))).toEqual({ n: 1 });
      expect(await enableCaptureGradually(s, async () => {})).toBe(0);
    } finally {
      store.close();
    }
  });

  it('enqueues every existing row once, as epochs of at most the given size, in sequence order', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-outbox-'));
    dirs.push(dir);
    const store = openStore(path.join(dir, 'gateway.db'), 1);
    const s = store.sqlite;
    try {
      store.commandNow(() => {
        for (let u = 1; u <= 4; u++)
          s.prepare("INSERT INTO users (id, username, password_hash, role, active, created_at, updated_at) VALUES (?, ?, 'x', 'worker', 1, 0, 0)").run(
            u,
            `u${u}`,
          );
        s.prepare(
          "INSERT INTO work_orders (id, product_code, lot_no, qty, planned_start, planned_end, status, created_at, updated_at) VALUES (1, 'P', 'L', 1, 0, 0, 'planned', 0, 0)",
        ).run();
        for (let k = 1; k <= 3; k++)
          s.prepare(
            "INSERT INTO work_order_stages (id, work_order_id, seq, stage_name, status, created_at, updated_at) VALUES (?, 1, ?, 'st', 'planned', 0, 0)",
          ).run(k, k);
        // A composite key (stage, user): 12 rows, several epochs.
        for (let k = 1; k <= 3; k++)
          for (let u = 1; u <= 4; u++) s.prepare('INSERT INTO stage_assignments (stage_id, user_id, assigned_by, assigned_at) VALUES (?, ?, 1, 0)').run(k, u);
        const put = s.prepare(
          "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 't', 1, 'C', 'good', NULL, 0, 0)",
        );
        for (let i = 1; i <= 23; i++) put.run(i * 3);
      });
      const tables = ['users', 'work_orders', 'work_order_stages', 'stage_assignments', 'machines', 'issues', 'machine_readings', 'events'];
      const rows = Object.fromEntries(tables.map((t) => [t, (s.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
      const added = s.transaction(() => enqueueSnapshot(s, 5))();
      const outbox = s.prepare('SELECT seq, tx, tbl, pk FROM sync_outbox ORDER BY seq').all() as Array<{ seq: number; tx: number; tbl: string; pk: string }>;
      expect(added).toBe(outbox.length);
      expect(added).toBe(Object.values(rows).reduce((a, b) => a + b, 0));
      for (const t of tables) {
        const keys = outbox.filter((o) => o.tbl === t).map((o) => o.pk);
        expect(keys.length, t).toBe(rows[t]);
        expect(new Set(keys).size, t).toBe(rows[t]);
      }
      expect(outbox.filter((o) => o.tbl === 'stage_assignments').map((o) => o.pk)).toEqual([1, 2, 3].flatMap((k) => [1, 2, 3, 4].map((u) => `${k}:${u}`)));
      const sizes = new Map<number, number>();
      for (const o of outbox) sizes.set(o.tx, (sizes.get(o.tx) ?? 0) + 1);
      expect(Math.max(...sizes.values())).toBeLessThanOrEqual(5);
      // 23 readings: 5 epochs of them (5, 5, 5, 5, 3).
      expect(new Set(outbox.filter((o) => o.tbl === 'machine_readings').map((o) => o.tx)).size).toBe(5);
      // An epoch never goes back as the sequence grows, and every one is closed.
      for (let i = 1; i < outbox.length; i++) expect(outbox[i]?.tx).toBeGreaterThanOrEqual(outbox[i - 1]?.tx ?? 0);
      const open = (s.prepare('SELECT epoch FROM sync_state WHERE id = 1').get() as { epoch: number }).epoch;
      expect(open).toBeGreaterThan(outbox[outbox.length - 1]?.tx ?? 0);
    } finally {
      store.close();
    }
  });
});
