import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';

let gw: TestGateway;
let admin: string;
let stageId: number;
let woId: number;
let machineId: number;
const TABLES = ['users', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues', 'events', 'machines', 'machine_readings', 'idempotency_keys'];

beforeAll(async () => {
  gw = makeGateway();
  admin = (await gw.login('admin')).token;
  const wo = await body<{ id: number; stages: Array<{ id: number }> }>(
    await gw.req('POST', '/workorders', {
      token: admin,
      body: { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T12:00:00Z' },
    }),
  );
  woId = wo.data.id;
  stageId = wo.data.stages[0]?.id ?? 0;
  machineId = (await body<{ id: number }>(await gw.req('POST', '/machines', { token: admin, body: { name: 'm1', machine_type: 'press' } }))).data.id;
});
afterAll(() => gw.close());

const snapshot = () => Object.fromEntries(TABLES.map((t) => [t, rowCount(gw.ctx, t)]));

async function expectRefused(method: string, url: string, payload: unknown, headers?: Record<string, string>) {
  const before = snapshot();
  const res = await gw.req(method, url, { token: admin, body: payload, ...(headers ? { headers } : {}) });
  expect(res.status, `${method} ${url} ${String(payload).slice(0, 60)}`).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  const env = await body(res);
  expect(env.error.code).toMatch(/^[A-Z_]+$/);
  expect(env.meta.request_id).toBeTruthy();
  expect(snapshot()).toEqual(before);
  return { status: res.status, env };
}

describe('bad bodies change nothing and never 5xx', () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  const deepObject = `{"product_code":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
  const cases: Array<[string, string, unknown, number?]> = [
    ['POST', '/workorders', '{"qty": 1,', 400],
    ['POST', '/workorders', deep, 422],
    ['POST', '/workorders', deepObject, 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: 0, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: -1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: 1.5, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: '5', planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', '{"product_code":"P","lot_no":"L","qty":1e400,"planned_start":"2026-11-26T08:00:00Z","planned_end":"2026-11-26T09:00:00Z"}', 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: 2 ** 53, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T10:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    ['POST', '/workorders', { product_code: 'P\u0000', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    [
      'POST',
      '/workorders',
      { product_code: 'x'.repeat(65), lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' },
      422,
    ],
    ['POST', '/workorders', { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-02-30T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' }, 422],
    [
      'POST',
      '/workorders',
      { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z', stages: [] },
      422,
    ],
    [
      'POST',
      '/workorders',
      {
        product_code: 'P',
        lot_no: 'L',
        qty: 1,
        planned_start: '2026-11-26T08:00:00Z',
        planned_end: '2026-11-26T09:00:00Z',
        stages: [{ stage_name: 'a', planned_start: '2026-11-26T09:00:00Z', planned_end: '2026-11-26T08:00:00Z' }],
      },
      422,
    ],
    ['POST', '/workorders', [1, 2, 3], 422],
    ['POST', '/workorders', 'null', 422],
    ['POST', '/auth/register', { username: "x'; DROP TABLE users;--", password: 'long-enough-pw' }, 422],
    ['POST', '/machines', { name: 'm2', machine_type: 'press', status: 'exploded' }, 422],
  ];
  for (const [method, url, payload, status] of cases) {
    it(`${method} ${url} ${typeof payload === 'string' ? payload.slice(0, 40) : JSON.stringify(payload).slice(0, 80)}`, async () => {
      const r = await expectRefused(method, url, payload);
      if (status) expect(r.status).toBe(status);
    });
  }

  it('refuses stage and issue bodies with bad values', async () => {
    await expectRefused('POST', `/stages/${stageId}/pause`, {});
    await expectRefused('POST', `/stages/${stageId}/start`, { at: '2099-01-01T00:00:00Z' });
    await expectRefused('POST', `/stages/${stageId}/start`, { at: 'yesterday' });
    await expectRefused('POST', `/stages/${stageId}/issue`, { type: 'fire', description: 'x' });
    await expectRefused('POST', `/stages/${stageId}/issue`, { type: 'other', description: '' });
    await expectRefused('POST', `/stages/${stageId}/assignments`, { user_id: 'me' });
    await expectRefused('POST', `/stages/${stageId}/assignments`, { user_id: 987654321 });
    await expectRefused('POST', '/stages/99999999/start', {});
    await expectRefused('POST', '/stages/abc/start', {});
    await expectRefused('POST', `/stages/${stageId}/done`, { qty_good: -1 });
  });

  it('refuses readings that are not finite, too many, or for an unknown machine', async () => {
    await expectRefused('POST', `/machines/${machineId}/readings`, '{"reading_type":"temp","value":NaN}');
    await expectRefused('POST', `/machines/${machineId}/readings`, { reading_type: 'temp', value: 'hot' });
    await expectRefused('POST', `/machines/${machineId}/readings`, { reading_type: 'temp', value: 1, quality: 'great' });
    await expectRefused(
      'POST',
      `/machines/${machineId}/readings`,
      Array.from({ length: 1001 }, () => ({ reading_type: 't', value: 1 })),
    );
    await expectRefused('POST', '/machines/999999/readings', { reading_type: 'temp', value: 1 });
  });

  it('answers a body that is neither JSON nor form with 415', async () => {
    const r = await expectRefused('POST', '/workorders', '<xml/>', { 'content-type': 'application/xml' });
    expect(r.status).toBe(415);
  });

  it('answers an oversized body with 413', async () => {
    const r = await expectRefused('POST', '/workorders', JSON.stringify({ product_code: 'x'.repeat(2 * 1024 * 1024) }));
    expect(r.status).toBe(413);
  });
});

describe('query parameters', () => {
  const injections = ["' OR 1=1 --", '1; DROP TABLE work_orders', '%00', '\u0000', '../../etc/passwd', '9'.repeat(400), '{"$gt":""}'];
  const lists = [
    ['/workorders', ['status', 'product_code', 'lot_no', 'planned_from', 'planned_to', 'limit', 'cursor']],
    ['/stages', ['status', 'work_order_id', 'assigned_to', 'limit', 'cursor']],
    ['/issues', ['status', 'type', 'work_order_stage_id', 'work_order_id', 'limit', 'cursor']],
    [`/machines/${0}/readings`, ['reading_type', 'from', 'to', 'limit', 'cursor']],
    ['/auth/users', ['limit', 'cursor']],
  ] as const;

  it('never 5xx and never leak rows for injection strings in any filter', async () => {
    const before = snapshot();
    for (const [path, params] of lists) {
      for (const p of params) {
        for (const value of injections) {
          const url = `${path.replace('/0/', `/${machineId}/`)}?${p}=${encodeURIComponent(value)}`;
          const res = await gw.req('GET', url, { token: admin });
          expect(res.status, url).toBeLessThan(500);
          const env = await body<unknown[]>(res);
          if (res.status === 200) expect(env.data, url).toEqual([]);
          else expect([400, 404, 422]).toContain(res.status);
        }
      }
    }
    expect(snapshot()).toEqual(before);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(1);
  });

  it('validates limit', async () => {
    for (const limit of ['0', '501', '-1', '1.5', 'abc']) {
      const res = await gw.req('GET', `/workorders?limit=${limit}`, { token: admin });
      expect(res.status).toBe(422);
      expect((await body(res)).error.details).toEqual([expect.objectContaining({ path: 'limit' })]);
    }
    expect((await gw.req('GET', `/workorders/${woId}`, { token: admin })).status).toBe(200);
  });
});
