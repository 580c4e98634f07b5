import { readFileSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/db/connection.ts';
import { captureMigrationSql } from '../../sync/capture-sql.ts';
import { compareHlc } from '../../sync/hlc.ts';
import { enableCapture } from '../../sync/state.ts';
import { makeGateway, type TestGateway } from '../helpers/app.ts';
import { createWorkOrder } from '../helpers/floor.ts';
import type { OutboxRow } from '../../sync/outbox.ts';

let gw: TestGateway;
beforeEach(() => {
  gw = makeGateway({ SITE_ID: '5' });
});
afterEach(() => gw.close());

const outbox = (g: TestGateway) => g.ctx.store.sqlite.prepare('SELECT seq, tx, hlc, tbl, pk, op, data FROM sync_outbox ORDER BY seq').all() as OutboxRow[];

describe('capture', () => {
  it('ships the migration the generator writes', () => {
    expect(readFileSync(path.join(MIGRATIONS_DIR, '0002_sync_capture.sql'), 'utf8')).toBe(captureMigrationSql());
  });

  it('captures nothing until sync is configured, then enqueues every existing row once', async () => {
    const planner = (await gw.login('planner')).token;
    await createWorkOrder(gw, planner);
    expect(outbox(gw)).toEqual([]);
    const n = enableCapture(gw.ctx.store.sqlite);
    expect(n).toBeGreaterThan(5);
    expect(enableCapture(gw.ctx.store.sqlite)).toBe(0);
    const tables = new Set(outbox(gw).map((r) => r.tbl));
    expect([...tables].sort()).toEqual(['events', 'users', 'work_order_stages', 'work_orders']);
  });

  it('captures a command with its event rows, clocks in order and only the changed columns', async () => {
    enableCapture(gw.ctx.store.sqlite);
    const planner = (await gw.login('planner')).token;
    const wo = await createWorkOrder(gw, planner);
    const stage = wo.stages[0];
    if (!stage) throw new Error('no stage');
    await gw.req('POST', `/stages/${stage.id}/start`, { token: planner, body: {} });
    const rows = outbox(gw);
    const update = rows.find((r) => r.tbl === 'work_order_stages' && r.op === 'U');
    expect(update?.pk).toBe(String(stage.id));
    expect(Object.keys(JSON.parse(update?.data ?? '{}'))).toEqual(expect.arrayContaining(['status', 'actual_start']));
    expect(Object.keys(JSON.parse(update?.data ?? '{}'))).not.toContain('stage_name');
    const clocks = rows.filter((r) => r.hlc !== '').map((r) => r.hlc);
    expect(clocks.every((c) => c.endsWith('-0005'))).toBe(true);
    expect([...clocks].sort(compareHlc)).toEqual(clocks);
    expect(rows.some((r) => r.tbl === 'events')).toBe(true);
  });

  it("captures a write from another connection without the gateway (an operator's sqlite3 shell)", async () => {
    enableCapture(gw.ctx.store.sqlite);
    const planner = (await gw.login('planner')).token;
    const wo = await createWorkOrder(gw, planner);
    const before = outbox(gw).length;
    const shell = new Sqlite(gw.ctx.config.databasePath);
    try {
      shell.prepare('UPDATE work_orders SET qty = 99 WHERE id = ?').run(wo.id);
    } finally {
      shell.close();
    }
    const after = outbox(gw).slice(before);
    expect(after).toMatchObject([{ tbl: 'work_orders', pk: String(wo.id), op: 'U', data: '{"qty":99}' }]);
  });

  it('does not capture changes applied from HQ (the applying guard)', () => {
    enableCapture(gw.ctx.store.sqlite);
    const s = gw.ctx.store.sqlite;
    s.transaction(() => {
      s.prepare('UPDATE sync_state SET applying = 1').run();
      s.prepare("INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (7, 'm', 't', 'idle', 'http', 1, 1)").run();
      s.prepare('UPDATE sync_state SET applying = 0').run();
    })();
    expect(outbox(gw)).toEqual([]);
  });

  it("keeps a transaction's rows in one epoch, closed before a push reads them", async () => {
    enableCapture(gw.ctx.store.sqlite);
    const planner = (await gw.login('planner')).token;
    await createWorkOrder(gw, planner);
    const epochs = new Set(outbox(gw).map((r) => r.tx));
    expect(epochs.size).toBe(1);
  });
});
