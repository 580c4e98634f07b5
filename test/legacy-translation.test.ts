import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../src/config.ts';
import { newLegacyApp } from '../src/legacy/app.ts';
import { plantTimeFormatter } from '../src/legacy/time.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { act, createWorkOrder, type Stage } from './helpers/floor.ts';
import { expectShape, legacyIssue, legacyStage, legacyWorkOrder } from './helpers/legacy-shapes.ts';

const TZ = 'Europe/Berlin';
let gw: TestGateway;
let planner: string;

/** Wall-clock time in TZ as Python's isoformat wrote it, computed without the code under test. */
function berlin(isoZ: string): string {
  const ms = Date.parse(isoZ);
  const wall = new Date(ms).toLocaleString('sv-SE', { timeZone: TZ }).replace(' ', 'T');
  return ms % 1000 === 0 ? wall : `${wall}.${String(ms % 1000).padStart(3, '0')}000`;
}

function legacyOf(opts: { maxListRows?: number; pageSize?: number } = {}) {
  const app = newLegacyApp(gw.ctx, gw.app.fetch, opts);
  return async (method: string, url: string, token: string, json?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.request(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
  };
}

beforeEach(async () => {
  gw = makeGateway({ PLANT_TZ: TZ });
  planner = (await gw.login('planner')).token;
});
afterEach(() => gw.close());

const window = (day: number) => ({
  planned_start: `2026-07-${String(day).padStart(2, '0')}T06:00:00Z`,
  planned_end: `2026-07-${String(day).padStart(2, '0')}T14:00:00Z`,
});

describe('the legacy translation', () => {
  it('shows v1 data field for field, times as plant wall clock, and v1 sees what legacy does', async () => {
    const legacy = legacyOf();
    const wo = await createWorkOrder(gw, planner, { planned_start: '2026-07-01T06:00:00Z', planned_end: '2026-11-26T14:00:00.5Z' });
    const first = wo.stages[0] as Stage;
    gw.clock.set(Date.parse('2026-11-26T08:00:00.125Z'));
    expect((await act(gw, planner, first.id, 'start')).status).toBe(200);
    const v1Stages = (await body<Array<Record<string, unknown>>>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner }))).data;
    const old = expectShape(z.array(legacyStage), (await legacy('GET', `/workorders/${wo.id}/stages`, planner)).body);
    expect(old).toHaveLength(v1Stages.length);
    old.forEach((stage, i) => {
      const v1 = v1Stages[i] ?? {};
      for (const [key, value] of Object.entries(stage)) {
        const expected = /_(start|end|at)$/.test(key) && typeof v1[key] === 'string' ? berlin(v1[key] as string) : v1[key];
        expect([key, value]).toEqual([key, expected]);
      }
    });
    expect(old[0]).toMatchObject({ planned_start: '2026-07-01T08:00:00', actual_start: '2026-11-26T09:00:00.125000' });

    gw.clock.set(Date.parse('2026-11-26T10:00:00Z'));
    const done = await legacy('POST', `/stages/${first.id}/done`, planner, { at: '2026-11-26T10:30:00', qty_good: 9 });
    expect(expectShape(legacyStage, done.body)).toMatchObject({ status: 'done', actual_end: '2026-11-26T10:30:00', qty_good: 9 });
    const v1Done = (await body<Stage>(await gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner }))).data as unknown as Stage[];
    expect(v1Done[0]).toMatchObject({ status: 'done', actual_end: '2026-11-26T09:30:00.000Z', qty_good: 9 });
  });

  it('answers every work order in v1 order, following cursors past the page size', async () => {
    for (const day of [5, 1, 4, 2, 3]) await createWorkOrder(gw, planner, { lot_no: `L${day}`, ...window(day) });
    const all = await legacyOf({ pageSize: 2 })('GET', '/workorders/?limit=1&cursor=nonsense', planner);
    expect(all.status).toBe(200);
    expect(all.headers.get('x-legacy-truncated')).toBeNull();
    expect(expectShape(z.array(legacyWorkOrder), all.body).map((w) => w.lot_no)).toEqual(['L1', 'L2', 'L3', 'L4', 'L5']);
    const filtered = await legacyOf({ pageSize: 2 })('GET', '/workorders?lot_no=L4', planner);
    expect((filtered.body as Array<{ lot_no: string }>).map((w) => w.lot_no)).toEqual(['L4']);
  });

  it('caps a list at the row limit, keeping the latest work orders and the newest issues, and says so', async () => {
    const orders = [];
    for (const day of [1, 2, 3, 4, 5]) orders.push(await createWorkOrder(gw, planner, { lot_no: `L${day}`, ...window(day) }));
    const legacy = legacyOf({ maxListRows: 3, pageSize: 2 });
    const capped = await legacy('GET', '/workorders', planner);
    expect(capped.headers.get('x-legacy-truncated')).toBe('true');
    expect((capped.body as Array<{ lot_no: string }>).map((w) => w.lot_no)).toEqual(['L3', 'L4', 'L5']);

    for (const [i, wo] of orders.entries()) {
      gw.clock.advance(1000);
      await legacy('POST', `/stages/${wo.stages[0]?.id}/issue`, planner, { type: 'other', description: `issue ${i}` });
    }
    const issues = await legacy('GET', '/issues', planner);
    expect(issues.headers.get('x-legacy-truncated')).toBe('true');
    expect(expectShape(z.array(legacyIssue), issues.body).map((x) => x.description)).toEqual(['issue 4', 'issue 3', 'issue 2']);
  });

  it('replays an Idempotency-Key retry in the old shape and creates one work order', async () => {
    const legacy = legacyOf();
    const payload = { product_code: 'P', lot_no: 'L', qty: 1, ...window(1) };
    const first = await legacy('POST', '/workorders/', planner, payload, { 'idempotency-key': 'app-retry-1' });
    const again = await legacy('POST', '/workorders/', planner, payload, { 'idempotency-key': 'app-retry-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(1);
    expect(again.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('the legacy listener in front of a misbehaving v1', () => {
  const stub = (answer: () => unknown) => newLegacyApp(gw.ctx, () => Response.json(answer()));

  it('answers 500 with a detail, not an empty 200, when v1 sends no data', async () => {
    const res = await stub(() => ({ meta: {} })).request('/workorders/1');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: 'Internal Server Error' });
  });

  it('stops following a cursor that does not move', async () => {
    let pages = 0;
    const res = await stub(() => {
      pages++;
      return { data: [{ id: pages }], meta: { next_cursor: 'same' } };
    }).request('/workorders');
    expect(await res.json()).toEqual([{ id: 1 }, { id: 2 }]);
  });
});

describe('legacy settings and time format', () => {
  it('is off by default and refuses the v1 port', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).legacyApiPort).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test', LEGACY_API_PORT: '8000' }).legacyApiPort).toBe(8000);
    expect(() => loadConfig({ NODE_ENV: 'test', PORT: '8000', LEGACY_API_PORT: '8000' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', LEGACY_API_PORT: 'eighty' })).toThrow(/LEGACY_API_PORT/);
  });

  it("writes Python's naive isoformat, across a DST change and in UTC", () => {
    const berlinTime = plantTimeFormatter(TZ);
    expect(berlinTime(Date.parse('2026-03-29T00:59:59Z'))).toBe('2026-03-29T01:59:59');
    expect(berlinTime(Date.parse('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00:00');
    expect(berlinTime(Date.parse('2026-12-31T23:00:00.007Z'))).toBe('2027-01-01T00:00:00.007000');
    expect(plantTimeFormatter('UTC')(Date.parse('2026-11-26T08:00:00.000Z'))).toBe('2026-11-26T08:00:00');
  });
});
