import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, makeGateway, type TestGateway } from '../helpers/app.ts';

const Z = (hhmm: string) => `2026-11-26T${hhmm}:00Z`;
const MIN = 60_000;

const SETTINGS = `
oee:
  shifts: [{ name: day, days: [thu], start: "05:00", end: "09:00" }]
  ideal_cycle_s: { machines: { counter-press: 600 } }
  counters: { counter-press: { good: count_good, scrap: count_scrap, wrap: 65536 } }
`;

describe('counts from counter tags', () => {
  let gw: TestGateway;
  let id: number;
  let token: string;

  beforeAll(async () => {
    gw = makeGateway({}, undefined, SETTINGS);
    gw.clock.set(Date.parse(Z('04:00')));
    token = (await gw.login('admin')).token;
    const m = await gw.req('POST', '/machines', { token, body: { name: 'counter-press', machine_type: 'press', status: 'running' } });
    id = (await body<{ id: number }>(m)).data.id;
    gw.clock.set(Date.parse(Z('10:00')));
    // The 16-bit good counter: 65530 before the shift (the baseline), wraps after 65535, then a reset.
    const readings = [
      ['count_good', 65_530, '04:59'],
      ['count_good', 65_535, '06:00'],
      ['count_good', 3, '07:00'],
      ['count_good', 10, '07:30'],
      ['count_good', 4, '08:00'], // reset to 0 by the operator, 4 made since
      ['count_scrap', 0, '05:30'],
      ['count_scrap', 2, '08:30'],
      ['count_good', 99, '09:30'], // after the shift: not counted
    ] as const;
    const res = await gw.req('POST', `/machines/${id}/readings`, {
      token,
      body: readings.map(([reading_type, value, at]) => ({ reading_type, value, timestamp: Z(at) })),
    });
    expect(res.status).toBe(201);
  });
  afterAll(() => gw?.close());

  it('adds rises, continues past a wrap and counts from 0 after a reset; only readings inside the range', async () => {
    const f = (
      await body<Record<string, unknown> & { inputs: { counts: unknown[] } }>(
        await gw.req('GET', `/machines/${id}/oee?from=${Z('05:00')}&to=${Z('09:00')}`, { token }),
      )
    ).data;
    // Good by hand: 65530→65535 = 5, 65535→(wrap)→3 = 4, 3→10 = 7, reset → 4: 20. Scrap 2.
    expect(f).toMatchObject({ good: 20, scrap: 2, total: 22, planned_ms: 240 * MIN, run_ms: 240 * MIN });
    expect(f.inputs.counts).toEqual([{ source: 'counter', stage_id: null, product_code: null, good: 20, scrap: 2, ideal_cycle_s: 600 }]);
    // 22 pieces × 10 min ideal = 220 of 240 min; quality 20/22; OEE = 20 × 10 / 240.
    expect(f.performance).toBeCloseTo(220 / 240, 12);
    expect(f.quality).toBeCloseTo(20 / 22, 12);
    expect(f.oee).toBeCloseTo(200 / 240, 12);
  });
});
