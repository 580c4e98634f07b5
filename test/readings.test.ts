import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExceptionFilter } from '../drivers/engine/rbe.ts';
import { body, makeGateway, rowCount, T0, type TestGateway, iso } from './helpers/app.ts';

let gw: TestGateway;
let planner: string;
let machineId: number;
beforeEach(async () => {
  gw = makeGateway();
  planner = (await gw.login('planner')).token;
  const res = await gw.req('POST', '/machines', { token: planner, body: { name: 'cnc-1', machine_type: 'mill', location: 'hall C' } });
  machineId = (await body<{ id: number }>(res)).data.id;
});
afterEach(() => gw.close());

describe('machines', () => {
  it('creates, refuses a duplicate name, patches status and location', async () => {
    expect((await gw.req('POST', '/machines', { token: planner, body: { name: 'cnc-1', machine_type: 'mill' } })).status).toBe(409);
    const patched = await gw.req('PATCH', `/machines/${machineId}`, { token: planner, body: { status: 'maintenance', location: 'hall D' } });
    expect((await body(patched)).data).toMatchObject({ status: 'maintenance', location: 'hall D', source: 'http' });
    expect((await gw.req('PATCH', `/machines/${machineId}`, { token: planner, body: { name: 'renamed' } })).status).toBe(422);
    expect((await gw.req('PATCH', `/machines/${machineId}`, { token: planner, body: {} })).status).toBe(422);
    const ev = gw.ctx.store.sqlite.prepare("SELECT from_status, to_status FROM events WHERE kind = 'machine.status_changed'").all();
    expect(ev).toEqual([{ from_status: 'offline', to_status: 'maintenance' }]);
    expect((await gw.req('GET', '/machines/4242', { token: planner })).status).toBe(404);
  });
});

describe('readings', () => {
  it('takes one reading or a batch from a device account and shows the latest per type', async () => {
    const device = await gw.login('machine');
    const one = await gw.req('POST', `/machines/${machineId}/readings`, {
      token: device.token,
      body: { reading_type: 'spindle_rpm', value: 1200, unit: 'rpm' },
    });
    expect(one.status).toBe(201);
    expect((await body(one)).data).toEqual({ accepted: 1 });
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      reading_type: 'temperature',
      value: i,
      timestamp: iso(T0 - (1000 - i) * 1000),
      quality: i === 999 ? 'uncertain' : 'good',
    }));
    const res = await gw.req('POST', `/machines/${machineId}/readings`, { token: device.token, body: batch });
    expect((await body(res)).data).toEqual({ accepted: 1000 });
    expect(rowCount(gw.ctx, 'machine_readings')).toBe(1001);
    const m = (
      await body<{ latest: Record<string, { value: number; quality: string; timestamp: string }>; last_seen_at: string }>(
        await gw.req('GET', `/machines/${machineId}`, { token: device.token }),
      )
    ).data;
    expect(m.latest.spindle_rpm).toMatchObject({ value: 1200, quality: 'good' });
    expect(m.latest.temperature).toMatchObject({ value: 999, quality: 'uncertain', timestamp: iso(T0 - 1000) });
    expect(m.last_seen_at).toBe(iso(T0));
    const list = await body<Array<{ id: number; latest: Record<string, unknown> }>>(await gw.req('GET', '/machines', { token: device.token }));
    expect(list.data[0]?.latest).toHaveProperty('temperature');
  });

  it('keeps the latest value when an older reading arrives late', async () => {
    await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: { reading_type: 't', value: 2, timestamp: iso(T0) } });
    await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: { reading_type: 't', value: 1, timestamp: iso(T0 - 60_000) } });
    const m = (await body<{ latest: Record<string, { value: number }> }>(await gw.req('GET', `/machines/${machineId}`, { token: planner }))).data;
    expect(m.latest.t?.value).toBe(2);
  });

  it('filters by type and time range, newest first, with a cursor', async () => {
    const batch = Array.from({ length: 10 }, (_, i) => ({ reading_type: i % 2 ? 'a' : 'b', value: i, timestamp: iso(T0 - (10 - i) * 60_000) }));
    await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: batch });
    const q = (s: string) =>
      gw.req('GET', `/machines/${machineId}/readings${s}`, { token: planner }).then((r) => body<Array<{ value: number; timestamp: string }>>(r));
    expect((await q('?reading_type=a')).data.map((r) => r.value)).toEqual([9, 7, 5, 3, 1]);
    const ranged = await q(`?from=${encodeURIComponent(iso(T0 - 5 * 60_000))}&to=${encodeURIComponent(iso(T0 - 2 * 60_000))}`);
    expect(ranged.data.map((r) => r.value)).toEqual([8, 7, 6, 5]);
    const p1 = await q('?limit=4');
    const p2 = await q(`?limit=4&cursor=${p1.meta.next_cursor}`);
    const p3 = await q(`?limit=4&cursor=${p2.meta.next_cursor}`);
    expect([...p1.data, ...p2.data, ...p3.data].map((r) => r.value)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('refuses a worker, a future timestamp and a bad batch without storing anything', async () => {
    const worker = await gw.login('worker');
    expect((await gw.req('POST', `/machines/${machineId}/readings`, { token: worker.token, body: { reading_type: 't', value: 1 } })).status).toBe(403);
    const future = await gw.req('POST', `/machines/${machineId}/readings`, {
      token: planner,
      body: [
        { reading_type: 't', value: 1 },
        { reading_type: 't', value: 1, timestamp: iso(T0 + 3600_000) },
      ],
    });
    expect(future.status).toBe(422);
    expect((await body(future)).error.details).toEqual([expect.objectContaining({ path: '1.timestamp' })]);
    expect((await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: [] })).status).toBe(422);
    expect((await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: { reading_type: 'bad type!', value: 1 } })).status).toBe(422);
    expect(rowCount(gw.ctx, 'machine_readings')).toBe(0);
  });

  it('names the failing field of a reading or of a batch item, not the whole body', async () => {
    const post = async (b: unknown) => {
      const res = await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: b });
      expect(res.status).toBe(422);
      return (await body(res)).error.details;
    };
    expect(await post({ reading_type: 't', value: 'NaN' })).toEqual([{ path: 'value', message: 'must be a finite number' }]);
    expect(await post({ reading_type: 't', value: 1, quality: 'BAD' })).toEqual([{ path: 'quality', message: expect.any(String) }]);
    expect(
      await post([
        { reading_type: 't', value: 1 },
        { reading_type: 't', value: true },
      ]),
    ).toEqual([{ path: '1.value', message: 'must be a finite number' }]);
    expect(await post(Array.from({ length: 1001 }, () => ({ reading_type: 't', value: 1 })))).toEqual([
      { path: '', message: 'must hold at most 1000 readings' },
    ]);
    expect(await post(null)).toEqual([{ path: '', message: 'Invalid input: expected object or array' }]);
    expect(rowCount(gw.ctx, 'machine_readings')).toBe(0);
  });

  it('answers 503 UNAVAILABLE and leaves no partial rows while another writer holds the lock', async () => {
    const Sqlite = (await import('better-sqlite3')).default;
    gw.ctx.store.sqlite.pragma('busy_timeout = 100');
    const other = new Sqlite(gw.ctx.config.databasePath);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const readings = await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: [{ reading_type: 't', value: 1 }] });
      expect(readings.status).toBe(503);
      expect((await body(readings)).error.code).toBe('UNAVAILABLE');
      expect(readings.headers.get('retry-after')).toBe('1');
      const wo = await gw.req('POST', '/workorders', {
        token: planner,
        body: { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' },
      });
      expect(wo.status).toBe(503);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(rowCount(gw.ctx, 'machine_readings')).toBe(0);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(0);
    expect(rowCount(gw.ctx, 'work_order_stages')).toBe(0);
    // Once the lock is gone the same request goes through.
    expect((await gw.req('POST', `/machines/${machineId}/readings`, { token: planner, body: [{ reading_type: 't', value: 1 }] })).status).toBe(201);
  });
});

describe('report by exception', () => {
  it('passes changes beyond the deadband, quality changes, and a heartbeat', () => {
    const filter = createExceptionFilter(() => 0.5, 10_000);
    const s = (value: number | null, quality: 'good' | 'bad' = 'good') => ({ tag: 'x', value, quality, reason: null, sourceTs: 0 });
    expect(filter([s(10)], 0)).toHaveLength(1);
    expect(filter([s(10.4)], 1000)).toHaveLength(0);
    expect(filter([s(10.6)], 2000)).toHaveLength(1);
    expect(filter([s(10.6)], 3000)).toHaveLength(0);
    expect(filter([s(null, 'bad')], 4000)).toHaveLength(1);
    expect(filter([s(10.6)], 5000)).toHaveLength(1);
    expect(filter([s(10.6)], 14_999)).toHaveLength(0);
    expect(filter([s(10.6)], 15_000)).toHaveLength(1);
  });
});

describe('retention', () => {
  it('prunes readings past the retention age in small batches and keeps the rest', async () => {
    const { runHousekeeping } = await import('../src/modules/ops/housekeeping.ts');
    const day = 86_400_000;
    const insert = gw.ctx.store.sqlite.prepare(
      "INSERT INTO machine_readings (id, machine_id, reading_type, value, quality, source_ts, recorded_at) VALUES (?, ?, 't', 1, 'good', ?, ?)",
    );
    gw.ctx.store.sqlite.transaction(() => {
      for (let i = 0; i < 1200; i++) insert.run(i + 1, machineId, T0 - 100 * day, T0 - 100 * day);
      for (let i = 0; i < 10; i++) insert.run(5000 + i, machineId, T0 - day, T0 - day);
    })();
    const removed = runHousekeeping(gw.ctx);
    expect(removed.readings).toBe(1200);
    expect(rowCount(gw.ctx, 'machine_readings')).toBe(10);
  });
});
