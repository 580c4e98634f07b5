import { Writable } from 'node:stream';
import Sqlite from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShopEvent } from '../src/events/bus.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { createWorkOrder } from './helpers/floor.ts';

let gw: TestGateway | undefined;
afterEach(() => gw?.close());

const WO = { product_code: 'P-1', lot_no: 'LOT-1', qty: 10, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T16:00:00Z' };

/** A gateway whose log lines are kept, and whose writes wait at most `waitMs` for a lock. */
function gatewayWithLog(waitMs: number) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  gw = makeGateway({}, pino({ level: 'info' }, sink), `storage:\n  write_wait_ms: ${waitMs}\n`);
  return { gw, lines };
}

describe('the command path', () => {
  it('publishes each committed change on the event bus after the commit, and nothing for a refused one', async () => {
    gw = makeGateway();
    const planner = await gw.login('planner');
    const seen: Array<{ kind: string; committed: number }> = [];
    const other = new Sqlite(gw.ctx.config.databasePath, { readonly: true });
    const unsubscribe = gw.ctx.bus.subscribe((e: ShopEvent) => {
      // Another connection already sees the row: the event went out after COMMIT.
      const row = other.prepare('SELECT count(*) AS n FROM events WHERE id = ?').get(e.id) as { n: number };
      seen.push({ kind: e.kind, committed: row.n });
    });
    try {
      const wo = await createWorkOrder(gw, planner.token, WO);
      const stage = wo.stages[0]?.id ?? 0;
      expect((await gw.req('POST', `/stages/${stage}/pause`, { token: planner.token, body: { reason: 'not started' } })).status).toBe(409);
      expect((await gw.req('POST', `/stages/${stage}/start`, { token: planner.token, body: {} })).status).toBe(200);
      expect(seen).toEqual([
        { kind: 'work_order.created', committed: 1 },
        { kind: 'stage.started', committed: 1 },
        { kind: 'work_order.status_changed', committed: 1 },
      ]);
      unsubscribe();
      await gw.req('POST', `/stages/${stage}/pause`, { token: planner.token, body: { reason: 'break' } });
      expect(seen).toHaveLength(3);
      expect(rowCount(gw.ctx, 'events')).toBe(4);
    } finally {
      other.close();
    }
  });

  it('keeps reads and /health answering while another connection holds the write lock, and lets the write through once it is released', async () => {
    const { gw: g } = gatewayWithLog(30_000);
    const planner = await g.login('planner');
    const other = new Sqlite(g.ctx.config.databasePath);
    other.prepare('BEGIN IMMEDIATE').run();
    let released = false;
    const write = g.req('POST', '/workorders', { token: planner.token, body: WO }).then((res) => ({ res, released }));
    try {
      const health = await g.req('GET', '/health');
      expect(health.status).toBe(200);
      const list = await g.req('GET', '/workorders', { token: planner.token });
      expect(list.status).toBe(200);
      expect((await body<unknown[]>(list)).data).toEqual([]);
    } finally {
      released = true;
      other.prepare('ROLLBACK').run();
      other.close();
    }
    const done = await write;
    expect(done.res.status).toBe(201);
    // The write could only finish after the other connection let go of the lock.
    expect(done.released).toBe(true);
    expect(rowCount(g.ctx, 'work_orders')).toBe(1);
  });

  it('answers 503 UNAVAILABLE with Retry-After once the bound is spent, logs SQLITE_BUSY once and counts every fault', async () => {
    const { gw: g, lines } = gatewayWithLog(60);
    const planner = await g.login('planner');
    const admin = await g.login('admin');
    const other = new Sqlite(g.ctx.config.databasePath);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const answers = await Promise.all([1, 2, 3].map(() => g.req('POST', '/workorders', { token: planner.token, body: WO })));
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('1');
        expect((await body(res)).error.code).toBe('UNAVAILABLE');
      }
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(rowCount(g.ctx, 'work_orders')).toBe(0);
    const faults = lines.filter((l) => l.code === 'SQLITE_BUSY');
    expect(faults).toHaveLength(1);
    expect(faults[0]?.msg).toBe('storage fault SQLITE_BUSY');
    const metrics = await (await g.req('GET', '/metrics', { token: admin.token })).text();
    expect(metrics).toContain('gateway_storage_faults_total{code="SQLITE_BUSY"} 3');
  });
});
