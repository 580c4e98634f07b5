import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/connection.ts';
import { CLOCK_CARRY_MIGRATION, clockCarryMigrationSql } from '../../sync/capture-sql.ts';
import { COUNTER_MAX, formatHlc, type Hlc, parseHlc, tickHlc } from '../../sync/hlc.ts';
import type { ClockSkew } from '../../sync/clock-skew.ts';
import { syncGauges } from '../../sync/index.ts';
import { enableCapture, observeClock } from '../../sync/state.ts';
import { createSyncWorker } from '../../sync/worker.ts';
import { body, makeGateway, type TestGateway } from '../helpers/app.ts';
import { act, createWorkOrder } from '../helpers/floor.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

const CLOCK = /^\d{13}-\d{5}-\d{4}$/;
/** A wall far ahead of the real one: every tick then runs on the counter, as on a box set back a day. */
const DAY_AHEAD = Date.now() + 86_400_000;

const state = (sqlite: TestGateway['ctx']['store']['sqlite']) =>
  sqlite.prepare('SELECT wall, counter FROM sync_state WHERE id = 1').get() as { wall: number; counter: number };

describe('hybrid clock text', () => {
  it('carries a tick past 99,999 into the wall and keeps string order', () => {
    let h: Hlc = { wall: 1_000, counter: COUNTER_MAX - 2, site: 7 };
    const texts = [formatHlc(h)];
    for (let i = 0; i < 5; i++) {
      h = tickHlc(h, 0);
      texts.push(formatHlc(h));
    }
    expect(texts).toEqual([
      '0000000001000-99997-0007',
      '0000000001000-99998-0007',
      '0000000001000-99999-0007',
      '0000000001001-00000-0007',
      '0000000001001-00001-0007',
      '0000000001001-00002-0007',
    ]);
    expect(tickHlc(h, 5_000)).toEqual({ wall: 5_000, counter: 0, site: 7 });
  });

  it('never writes or reads back a 6-digit counter (one written before the carry rule is carried)', () => {
    expect(formatHlc({ wall: 1_000, counter: 100_008, site: 1 })).toBe('0000000001001-00008-0001');
    expect(parseHlc('0000000001000-100008-0001')).toEqual({ wall: 1_001, counter: 8, site: 1 });
    expect(parseHlc('0000000001000-99987-0001')).toEqual({ wall: 1_000, counter: 99_987, site: 1 });
  });

  it('ships the SQLite migration the generator writes', () => {
    expect(readFileSync(path.join(MIGRATIONS_DIR, CLOCK_CARRY_MIGRATION), 'utf8')).toBe(clockCarryMigrationSql());
  });
});

describe('edge clock under a frozen wall clock', () => {
  let gw: TestGateway;
  afterEach(() => gw?.close());

  it('keeps 1.1 million captured changes strictly increasing in string order', () => {
    gw = makeGateway({ SITE_ID: '2' });
    const db = gw.ctx.store.sqlite;
    enableCapture(db);
    const machines = 1_000;
    const rounds = 1_100;
    db.transaction(() => {
      const add = db.prepare(
        "INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (?, ?, 'press', 'idle', 'api', 0, 0)",
      );
      for (let i = 1; i <= machines; i++) add.run(i, `m${i}`);
    })();
    db.prepare('DELETE FROM sync_outbox').run();
    db.prepare('UPDATE sync_state SET wall = ?, counter = 0 WHERE id = 1').run(DAY_AHEAD);
    // One statement updates every machine, so its trigger fires 1,000 times per round: 1.1M
    // captured changes in a few seconds, all with the wall clock behind the stored clock.
    const touch = db.prepare('UPDATE machines SET last_seen_at = ?');
    db.transaction(() => {
      for (let r = 1; r <= rounds; r++) touch.run(r);
    })();
    const n = (db.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;
    expect(n).toBe(machines * rounds);
    const malformed = db
      .prepare(
        "SELECT count(*) AS n FROM sync_outbox WHERE hlc NOT GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9]-0002'",
      )
      .get() as { n: number };
    expect(malformed.n).toBe(0);
    // seq is the rowid: each row against the one before it.
    const outOfOrder = db.prepare('SELECT count(*) AS n FROM sync_outbox a JOIN sync_outbox b ON b.seq = a.seq + 1 WHERE b.hlc <= a.hlc').get() as {
      n: number;
    };
    expect(outOfOrder.n).toBe(0);
    const s = state(db);
    expect(s.wall).toBe(DAY_AHEAD + Math.floor(n / (COUNTER_MAX + 1)));
    expect(s.counter).toBeLessThanOrEqual(COUNTER_MAX);
    // Every machine's per-column clock is its last change's.
    const last = db.prepare("SELECT max(hlc) AS h FROM sync_outbox WHERE tbl = 'machines'").get() as { h: string };
    const clock = db.prepare("SELECT json_extract(clocks, '$.last_seen_at') AS c FROM sync_clock WHERE tbl = 'machines' AND pk = ?").get(String(machines)) as {
      c: string;
    };
    expect(clock.c).toBe(last.h);
  }, 120_000);

  it('carries clocks written with a sixth digit before migration 0005, keeping their order', () => {
    gw = makeGateway({ SITE_ID: '2' });
    const db = gw.ctx.store.sqlite;
    enableCapture(db);
    db.prepare('DELETE FROM sync_outbox').run();
    const w = String(DAY_AHEAD).padStart(13, '0');
    const legacy = [`${w}-99998-0002`, `${w}-99999-0002`, `${w}-100000-0002`, `${w}-100001-0002`, `${w}-250000-0002`];
    const add = db.prepare("INSERT INTO sync_outbox (tx, hlc, tbl, pk, op, data, at) VALUES (1, ?, 'machines', '1', 'U', '{}', 0)");
    for (const h of legacy) add.run(h);
    db.prepare("INSERT INTO sync_clock (tbl, pk, clocks) VALUES ('machines', '1', json_object('status', ?, 'name', ?))").run(legacy[3], legacy[0]);
    db.prepare('UPDATE sync_state SET wall = ?, counter = 250000 WHERE id = 1').run(DAY_AHEAD);
    // The data repair at the end of the migration (the triggers before it are already in place).
    for (const statement of clockCarryMigrationSql()
      .split('--> statement-breakpoint')
      .filter((x) => /^(UPDATE|INSERT)/.test(x.trim())))
      db.exec(statement);
    const carried = (db.prepare('SELECT hlc FROM sync_outbox ORDER BY seq').all() as Array<{ hlc: string }>).map((r) => r.hlc);
    expect(carried).toEqual(legacy.map((h) => formatHlc(parseHlc(h))));
    expect(carried[2]).toBe(`${String(DAY_AHEAD + 1).padStart(13, '0')}-00000-0002`);
    expect([...carried].sort()).toEqual(carried);
    const clocks = JSON.parse((db.prepare("SELECT clocks FROM sync_clock WHERE tbl = 'machines' AND pk = '1'").get() as { clocks: string }).clocks);
    expect(clocks).toEqual({ status: formatHlc(parseHlc(legacy[3] ?? '')), name: legacy[0] });
    expect(state(db)).toEqual({ wall: DAY_AHEAD + 2, counter: 50_000 });
  });

  it('carries on receive: a pulled clock at 99,999 is followed by the next millisecond', () => {
    gw = makeGateway({ SITE_ID: '2' });
    const db = gw.ctx.store.sqlite;
    enableCapture(db);
    observeClock(db, formatHlc({ wall: DAY_AHEAD, counter: COUNTER_MAX, site: 0 }));
    expect(state(db)).toEqual({ wall: DAY_AHEAD, counter: COUNTER_MAX });
    db.prepare("INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (1, 'm', 'press', 'idle', 'api', 0, 0)").run();
    const row = db.prepare("SELECT hlc FROM sync_outbox WHERE tbl = 'machines'").get() as { hlc: string };
    expect(row.hlc).toBe(formatHlc({ wall: DAY_AHEAD + 1, counter: 0, site: 2 }));
    // A clock stamped before the carry rule (six digits) is read by its value, not refused.
    observeClock(db, `${String(DAY_AHEAD + 5).padStart(13, '0')}-100003-0000`);
    expect(state(db)).toEqual({ wall: DAY_AHEAD + 6, counter: 3 });
    expect(row.hlc).toMatch(CLOCK);
  });
});

describe('with HQ', () => {
  let hq: Hq;
  let edge: Edge;
  beforeAll(async () => {
    hq = await startHq();
    edge = startEdge(4, await hq.addSite(4));
  }, HQ_START_TIMEOUT);
  afterAll(async () => {
    await edge?.close();
    await hq?.close();
  });

  it('converges to in_progress at HQ, as the floor shows it', async () => {
    const planner = (await edge.gw.login('planner')).token;
    const wo = await createWorkOrder(edge.gw, planner);
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    expect((await act(edge.gw, planner, stage.id, 'start')).status).toBe(200);
    await edge.sync.runCycle();
    const db = edge.gw.ctx.store.sqlite;
    // The wall clock is a day behind the box's clock and 99,990 changes went by at this wall.
    db.prepare('UPDATE sync_state SET wall = ?, counter = ? WHERE id = 1').run(DAY_AHEAD, COUNTER_MAX - 9);
    expect((await act(edge.gw, planner, stage.id, 'pause', { reason: 'break' })).status).toBe(200);
    // More changes under the frozen clock take the counter to its last value; the resume is next.
    db.prepare('UPDATE sync_state SET counter = ? WHERE id = 1').run(COUNTER_MAX);
    expect((await act(edge.gw, planner, stage.id, 'resume')).status).toBe(200);
    const clocks = db.prepare("SELECT hlc FROM sync_outbox WHERE tbl = 'work_order_stages' ORDER BY seq").all() as Array<{ hlc: string }>;
    await edge.sync.runCycle();
    const [row] = await hqRows<{ status: string; clock: string }>(hq, "SELECT status, _clocks ->> 'status' AS clock FROM work_order_stages WHERE id = $1", [
      stage.id,
    ]);
    expect(row?.status).toBe('in_progress');
    expect(clocks.length).toBeGreaterThanOrEqual(2);
    for (const c of clocks) expect(c.hlc).toMatch(CLOCK);
    expect(row?.clock).toBe(formatHlc({ wall: DAY_AHEAD + 1, counter: parseHlc(row?.clock ?? '').counter, site: 4 }));
  });

  it("stamps HQ's own write one tick past a clock at 99,999 with the next millisecond", async () => {
    const [m] = await hqRows<{ id: number }>(
      hq,
      "INSERT INTO machines (site_id, name, machine_type, status, source) VALUES (4, 'hq-press', 'press', 'idle', 'api') RETURNING id",
    );
    const far = formatHlc({ wall: DAY_AHEAD, counter: COUNTER_MAX, site: 4 });
    const client = await hq.owner.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('gw.applying', '4', true)");
      await client.query("UPDATE machines SET _clocks = jsonb_set(_clocks, '{status}', to_jsonb($2::text)) WHERE id = $1", [m?.id, far]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await hqRows(hq, "UPDATE machines SET status = 'running' WHERE id = $1", [m?.id]);
    const [row] = await hqRows<{ clock: string }>(hq, "SELECT _clocks ->> 'status' AS clock FROM machines WHERE id = $1", [m?.id]);
    expect(row?.clock).toBe(formatHlc({ wall: DAY_AHEAD + 1, counter: 0, site: 0 }));
  });

  it('reports a wall clock behind its last clock value or ahead of HQ, with one warning per episode', async () => {
    const url = await hq.addSite(8);
    const gw = makeGateway({ SITE_ID: '8', HQ_DATABASE_URL: url, SYNC_INTERVAL_MS: '500' });
    const warns: object[] = [];
    const infos: object[] = [];
    let shift = 0;
    const sync = createSyncWorker({
      sqlite: gw.ctx.store.sqlite,
      site: 8,
      hq: { url, schema: 'public' },
      intervalMs: 500,
      now: () => gw.ctx.clock.now(),
      log: { info: (o) => infos.push(o), warn: (o) => warns.push(o) },
      gauges: syncGauges(gw.ctx.metrics),
      clockSkewLimitMs: 60_000,
      wallMs: () => Date.now() + shift,
    });
    try {
      const db = gw.ctx.store.sqlite;
      const admin = (await gw.login('admin')).token;
      const clock = async () => (await body<{ clock: ClockSkew | null }>(await gw.req('GET', '/sync/status', { token: admin }))).data.clock;
      const exceeded = async () => (await gw.ctx.metrics.syncClockSkewExceeded.get()).values[0]?.value;
      await sync.runCycle();
      const fine = await clock();
      expect(fine).toMatchObject({ limit_ms: 60_000, exceeded: false });
      expect(fine?.behind_ms).toBeLessThan(1_000);
      expect(Math.abs(fine?.hq_offset_ms ?? Number.NaN)).toBeLessThan(1_000);
      expect(warns).toEqual([]);

      // The box's clock was a day ahead and has been set right: it now runs behind its last clock.
      db.prepare('UPDATE sync_state SET wall = ? WHERE id = 1').run(DAY_AHEAD);
      await sync.runCycle();
      await sync.runCycle();
      const behind = await clock();
      expect(behind?.exceeded).toBe(true);
      expect(behind?.behind_ms).toBeGreaterThan(86_000_000);
      expect(await exceeded()).toBe(1);
      expect(warns).toEqual([expect.objectContaining({ limit_ms: 60_000 })]);

      // Back within the limit; and each pull receives HQ's clock, so the next write is clocked
      // after every HQ write stamped before it, even when the pull brought none of them.
      db.prepare('UPDATE sync_state SET wall = 0, counter = 0 WHERE id = 1').run();
      const beforeCycle = Date.now();
      await sync.runCycle();
      expect((await clock())?.exceeded).toBe(false);
      expect(await exceeded()).toBe(0);
      expect(infos).toHaveLength(1);
      expect(state(db).wall).toBeGreaterThanOrEqual(beforeCycle - 1);

      // A wall clock two minutes ahead of HQ's: a new episode, a second warning.
      shift = 120_000;
      await sync.runCycle();
      await sync.runCycle();
      const ahead = await clock();
      expect(ahead?.exceeded).toBe(true);
      expect(ahead?.hq_offset_ms).toBeGreaterThan(119_000);
      expect(warns).toHaveLength(2);
    } finally {
      await sync.stop();
      gw.close();
    }
  });

  it('sends again a value whose clock had a sixth digit, so HQ leaves the pause it kept over the resume', async () => {
    const planner = (await edge.gw.login('planner')).token;
    const wo = await createWorkOrder(edge.gw, planner, { lot_no: 'LOT-CARRY' });
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    expect((await act(edge.gw, planner, stage.id, 'start')).status).toBe(200);
    await edge.sync.runCycle();
    // What 0002's tick left behind: the floor resumed at …-100008 after pausing at …-99987, and
    // HQ, comparing the text, kept the pause (as the site's own push, so nothing is logged back).
    const w = String(DAY_AHEAD).padStart(13, '0');
    const client = await hq.owner.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('gw.applying', '4', true)");
      await client.query("UPDATE work_order_stages SET status = 'paused', _clocks = jsonb_set(_clocks, '{status}', to_jsonb($2::text)) WHERE id = $1", [
        stage.id,
        `${w}-99987-0004`,
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const db = edge.gw.ctx.store.sqlite;
    db.prepare("UPDATE sync_clock SET clocks = json_set(clocks, '$.status', ?) WHERE tbl = 'work_order_stages' AND pk = ?").run(
      `${w}-100008-0004`,
      String(stage.id),
    );
    for (const statement of clockCarryMigrationSql()
      .split('--> statement-breakpoint')
      .filter((x) => /^(UPDATE|INSERT)/.test(x.trim())))
      db.exec(statement);
    await edge.sync.runCycle();
    const [row] = await hqRows<{ status: string; clock: string }>(hq, "SELECT status, _clocks ->> 'status' AS clock FROM work_order_stages WHERE id = $1", [
      stage.id,
    ]);
    expect(row).toEqual({ status: 'in_progress', clock: `${String(DAY_AHEAD + 1).padStart(13, '0')}-00008-0004` });
  });
});
