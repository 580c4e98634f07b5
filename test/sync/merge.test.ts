import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_SHIFT } from '../../src/db/ids.ts';
import { isRowRejection } from '../../sync/hq/pool.ts';
import { applyFacts } from '../../sync/hq-apply.ts';
import { formatHlc } from '../../sync/hlc.ts';
import { foldChanges, mergeRow, type Versioned } from '../../sync/merge.ts';
import { DELETED, FACT_TABLES, MUTABLE_TABLES, tableSpec } from '../../sync/tables.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, startHq } from './fixture.ts';

// The merge function (sync/merge.ts) is what both sides run: the edge when it applies a pulled
// row, HQ (through the push) when it applies a site's change. These are its rules per table as
// docs/sync.md states them. Facts never reach it: the last block checks HQ's insert of them
// against a real PostgreSQL (PGlite when none answers).

// From the clock, not a fixed date: HQ keeps reading partitions for a window around now, so a
// fixed instant expires (1_764_000_000_000 fell out of it on 2026-11-25 and turned CI red).
const T = Math.floor(Date.now() / 1000) * 1000;
/** A clock: wall ms offset from T, counter, site. */
const at = (ms: number, site = 1, counter = 0) => formatHlc({ wall: T + ms, counter, site });
/** A change carrying the given columns, all at one clock (as a captured change does). */
const change = (values: Record<string, unknown>, clock: string): Versioned => ({
  values,
  clocks: Object.fromEntries(Object.keys(values).map((k) => [k, clock])),
});
/** The row every replica ends with, whichever order the changes arrive in. */
const mergeAll = (table: string, changes: Versioned[]) => foldChanges(tableSpec(table), changes).values;

const orders = <T>(xs: T[]): T[][] =>
  xs.length <= 1 ? [xs] : xs.flatMap((x, i) => orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));

/** Asserts that every arrival order gives the same row, and returns it. */
function converged(table: string, changes: Versioned[]): Record<string, unknown> {
  const results = orders(changes).map((o) => mergeAll(table, o));
  for (const r of results) expect(r).toEqual(results[0]);
  return results[0] ?? {};
}

describe('merge: per-column last writer wins by hybrid logical clock', () => {
  it('keeps both when HQ moves planned_end and the floor finishes the stage (different columns)', () => {
    const hq = change({ planned_end: T + 3_600_000 }, at(10, 0));
    const floor = change({ status: 'done', actual_end: T + 5 }, at(5, 7));
    expect(converged('work_order_stages', [hq, floor])).toEqual({ planned_end: T + 3_600_000, status: 'done', actual_end: T + 5 });
  });

  it('lets the later clock win a column, whichever arrives first', () => {
    const early = change({ qty: 10 }, at(1, 3));
    const late = change({ qty: 20 }, at(2, 3));
    expect(converged('work_orders', [early, late]).qty).toBe(20);
  });

  it('orders by the counter when the wall times are equal (a clock set back keeps counting)', () => {
    const first = change({ location: 'hall A' }, at(0, 4, 1));
    const second = change({ location: 'hall B' }, at(0, 4, 2));
    expect(converged('machines', [first, second]).location).toBe('hall B');
  });

  it('breaks an exact clock tie by site number: the higher site wins, the same on every replica', () => {
    const site3 = change({ role: 'manager' }, at(0, 3));
    const site9 = change({ role: 'planner' }, at(0, 9));
    expect(converged('users', [site3, site9]).role).toBe('planner');
    const hq = change({ role: 'worker' }, at(0, 0));
    expect(converged('users', [site3, hq]).role).toBe('manager');
  });

  it("merges users' role, active and password hash independently", () => {
    const role = change({ role: 'manager' }, at(3, 0));
    const deactivate = change({ active: 0 }, at(2, 5));
    const password = change({ password_hash: 'scrypt$new' }, at(1, 5));
    const stale = change({ role: 'worker', active: 1, password_hash: 'scrypt$old' }, at(0, 5));
    expect(converged('users', [role, deactivate, password, stale])).toEqual({ role: 'manager', active: 0, password_hash: 'scrypt$new' });
  });

  it('is idempotent: merging a change a second time changes nothing and reports no winning column', () => {
    const spec = tableSpec('work_orders');
    const c = change({ qty: 5, lot_no: 'L1' }, at(1));
    const once = mergeRow(spec, undefined, c);
    expect(once.won.sort()).toEqual(['lot_no', 'qty']);
    const twice = mergeRow(spec, once.merged, c);
    expect(twice.merged).toEqual(once.merged);
    expect(twice.won).toEqual([]);
  });

  it('keeps the current value of a column the incoming change does not carry', () => {
    const spec = tableSpec('work_orders');
    const current = change({ qty: 5, lot_no: 'L1' }, at(1));
    const { merged, won } = mergeRow(spec, current, change({ qty: 6 }, at(2)));
    expect(merged.values).toEqual({ qty: 6, lot_no: 'L1' });
    expect(merged.clocks).toEqual({ qty: at(2), lot_no: at(1) });
    expect(won).toEqual(['qty']);
  });
});

describe('merge: a status never moves backwards', () => {
  it('keeps a stage done against a later in_progress or paused', () => {
    const done = change({ status: 'done' }, at(1, 2));
    for (const later of ['in_progress', 'paused', 'planned']) {
      expect(converged('work_order_stages', [done, change({ status: later }, at(60_000, 0))]).status).toBe('done');
    }
  });

  it('orders pause and resume of a stage by clock (equal rank)', () => {
    const pause = change({ status: 'paused' }, at(1));
    const resume = change({ status: 'in_progress' }, at(2));
    expect(converged('work_order_stages', [pause, resume]).status).toBe('in_progress');
    const pauseAgain = change({ status: 'paused' }, at(3));
    expect(converged('work_order_stages', [pause, resume, pauseAgain]).status).toBe('paused');
  });

  it('ranks issue statuses resolved > ack > open, whatever the clocks', () => {
    const resolved = change({ status: 'resolved' }, at(1));
    const ack = change({ status: 'ack' }, at(2));
    const open = change({ status: 'open' }, at(3));
    expect(converged('issues', [resolved, ack, open]).status).toBe('resolved');
    expect(converged('issues', [ack, open]).status).toBe('ack');
  });

  it('ranks work orders planned < in_progress < done', () => {
    const done = change({ status: 'done' }, at(1));
    const planned = change({ status: 'planned' }, at(9, 0));
    const inProgress = change({ status: 'in_progress' }, at(5));
    expect(converged('work_orders', [done, planned, inProgress]).status).toBe('done');
    expect(converged('work_orders', [planned, inProgress]).status).toBe('in_progress');
  });

  it('lets the other columns of a losing status change still win by clock', () => {
    const done = change({ status: 'done', qty_good: 8 }, at(1));
    const late = change({ status: 'in_progress', qty_good: 9 }, at(2));
    expect(converged('work_order_stages', [done, late])).toEqual({ status: 'done', qty_good: 9 });
  });

  it('ranks no status on tables without one (a machine status cycles freely)', () => {
    const down = change({ status: 'down' }, at(1));
    const running = change({ status: 'running' }, at(2));
    expect(converged('machines', [down, running]).status).toBe('running');
  });
});

describe('merge: deletes are tombstones with their own clock', () => {
  const assigned = change({ stage_id: 1, user_id: 2, assigned_by: 3, assigned_at: T, [DELETED]: 0 }, at(1));

  it('removes the row when the delete is later than the insert, in any order', () => {
    const unassign = change({ [DELETED]: 1 }, at(2));
    expect(converged('stage_assignments', [assigned, unassign])[DELETED]).toBe(1);
  });

  it('lets a later re-insert (re-assign) win over an older delete', () => {
    const unassign = change({ [DELETED]: 1 }, at(2));
    const reassign = change({ stage_id: 1, user_id: 2, assigned_by: 4, assigned_at: T + 3, [DELETED]: 0 }, at(3));
    const row = converged('stage_assignments', [assigned, unassign, reassign]);
    expect(row[DELETED]).toBe(0);
    expect(row.assigned_by).toBe(4);
  });

  it('keeps a deleted row deleted when a later update touches other columns only', () => {
    const insert = change({ id: 5, qty: 1, [DELETED]: 0 }, at(1));
    const del = change({ [DELETED]: 1 }, at(2, 0));
    const laterUpdate = change({ qty: 7 }, at(3, 4));
    const row = converged('work_orders', [insert, del, laterUpdate]);
    expect(row[DELETED]).toBe(1);
    // The update's value is still merged, so a later re-insert starts from the same state everywhere.
    expect(row.qty).toBe(7);
  });

  it('lets a later delete win over an earlier update', () => {
    const insert = change({ id: 5, qty: 1, [DELETED]: 0 }, at(1));
    const update = change({ qty: 7 }, at(2, 4));
    const del = change({ [DELETED]: 1 }, at(3, 0));
    expect(converged('work_orders', [insert, update, del])[DELETED]).toBe(1);
  });
});

describe('facts never conflict (at HQ: insert; an identical duplicate is ignored, another row under a taken id refused)', () => {
  let hq: Hq;
  beforeAll(async () => {
    hq = await startHq();
    await hq.addSite(2);
  }, HQ_START_TIMEOUT);
  afterAll(async () => {
    await hq?.close();
  });

  const insertFacts = async (table: string, rows: Array<Record<string, unknown>>) => {
    const client = await hq.owner.connect();
    try {
      await client.query('BEGIN');
      const rejected = await applyFacts(client, tableSpec(table), rows, 2, false, isRowRejection);
      await client.query('COMMIT');
      return rejected;
    } finally {
      client.release();
    }
  };

  it('are never merged: readings and event rows carry no status rank and are not mutable tables', () => {
    expect(FACT_TABLES.map((t) => t.name).sort()).toEqual(['events', 'machine_readings']);
    expect(MUTABLE_TABLES.some((t) => t.fact)).toBe(false);
  });

  it('keeps the first copy of a reading or event row sent twice, exactly as the edge stored it; another row under its id is refused, not dropped', async () => {
    const reading = {
      id: 2 * SITE_SHIFT + 77,
      machine_id: 1,
      reading_type: 'temp',
      value: 21.5,
      unit: 'C',
      quality: 'good',
      reason: null,
      source_ts: T + 123,
      recorded_at: T + 124,
    };
    const event = {
      id: 2 * SITE_SHIFT + 78,
      kind: 'stage.started',
      entity_type: 'stage',
      entity_id: 5,
      work_order_id: null,
      from_status: 'planned',
      to_status: 'in_progress',
      occurred_at: T + 1,
      recorded_at: T + 2,
      actor_user_id: 3,
      request_id: 'req "1", \\ {x}',
      data: JSON.stringify({ note: 'a "quoted" {brace}', n: 1 }),
    };
    expect(await insertFacts('machine_readings', [reading])).toEqual([]);
    expect(await insertFacts('events', [event])).toEqual([]);
    expect(await insertFacts('machine_readings', [reading])).toEqual([]);
    expect(await insertFacts('events', [event])).toEqual([]);
    expect(await insertFacts('machine_readings', [{ ...reading, value: 99 }])).toMatchObject([{ tbl: 'machine_readings', pk: String(reading.id) }]);
    expect(await insertFacts('events', [{ ...event, kind: 'stage.done' }])).toMatchObject([{ tbl: 'events', pk: String(event.id) }]);
    const r = await hqRows(hq, 'SELECT site_id, value, source_ts, recorded_at, reason FROM machine_readings WHERE id = $1', [reading.id]);
    expect(r).toEqual([{ site_id: 2, value: 21.5, source_ts: new Date(T + 123), recorded_at: new Date(T + 124), reason: null }]);
    const e = await hqRows(hq, 'SELECT kind, request_id, data, work_order_id, occurred_at FROM events WHERE id = $1', [event.id]);
    expect(e).toEqual([
      { kind: 'stage.started', request_id: event.request_id, data: { note: 'a "quoted" {brace}', n: 1 }, work_order_id: null, occurred_at: new Date(T + 1) },
    ]);
  });
});
