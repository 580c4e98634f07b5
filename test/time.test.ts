import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTimestamp, parseTimestampDetailed } from '../src/core/time.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';

const BERLIN = 'Europe/Berlin';
const at = (text: string, tz = BERLIN) => {
  const ms = parseTimestamp(text, tz);
  return ms === undefined ? undefined : new Date(ms).toISOString();
};

describe('plant-local times in Europe/Berlin', () => {
  it('uses CET in winter and CEST in summer', () => {
    expect(at('2026-01-15T12:00:00')).toBe('2026-01-15T11:00:00.000Z');
    expect(at('2026-07-15T12:00:00')).toBe('2026-07-15T10:00:00.000Z');
    expect(at('2026-07-15')).toBe('2026-07-14T22:00:00.000Z');
  });

  it('refuses the hour the clocks skip in spring (29 March 2026, 02:00 → 03:00)', () => {
    expect(at('2026-03-29T01:59:59')).toBe('2026-03-29T00:59:59.000Z');
    for (const skipped of ['2026-03-29T02:00:00', '2026-03-29T02:30:00', '2026-03-29T02:59:59.999']) {
      expect(parseTimestampDetailed(skipped, BERLIN)).toEqual({ ok: false, problem: 'nonexistent' });
    }
    expect(at('2026-03-29T03:00:00')).toBe('2026-03-29T01:00:00.000Z');
  });

  it('takes the earlier instant for the hour the clocks repeat in autumn (25 October 2026, 03:00 → 02:00)', () => {
    expect(at('2026-10-25T01:59:59')).toBe('2026-10-24T23:59:59.000Z');
    // 02:00–02:59 happens first in CEST (+02:00), then again in CET (+01:00).
    expect(at('2026-10-25T02:00:00')).toBe('2026-10-25T00:00:00.000Z');
    expect(at('2026-10-25T02:30:00')).toBe('2026-10-25T00:30:00.000Z');
    expect(at('2026-10-25T02:59:59.999')).toBe('2026-10-25T00:59:59.999Z');
    expect(at('2026-10-25T03:00:00')).toBe('2026-10-25T02:00:00.000Z');
    // The later 02:30 is still reachable, with its offset.
    expect(at('2026-10-25T02:30:00+01:00')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('applies the same rule in other zones: southern hemisphere, half-hour shifts', () => {
    // Sydney: clocks go back 03:00 → 02:00 on 5 April 2026 and forward 02:00 → 03:00 on 4 October 2026.
    expect(at('2026-04-05T02:30:00', 'Australia/Sydney')).toBe('2026-04-04T15:30:00.000Z');
    expect(parseTimestampDetailed('2026-10-04T02:30:00', 'Australia/Sydney')).toEqual({ ok: false, problem: 'nonexistent' });
    // Lord Howe Island moves by 30 minutes: 02:00 → 02:30 on 4 October 2026.
    expect(parseTimestampDetailed('2026-10-04T02:15:00', 'Australia/Lord_Howe')).toEqual({ ok: false, problem: 'nonexistent' });
    expect(at('2026-10-04T02:30:00', 'Australia/Lord_Howe')).toBe('2026-10-03T15:30:00.000Z');
  });
});

describe('timestamp formats', () => {
  it('takes offsets as written and refuses what names no instant', () => {
    expect(at('2026-03-29T02:30:00Z')).toBe('2026-03-29T02:30:00.000Z');
    expect(at('2026-03-29T02:30:00+0530')).toBe('2026-03-28T21:00:00.000Z');
    expect(at('2026-11-26 08:00', 'UTC')).toBe('2026-11-26T08:00:00.000Z');
    for (const bad of [
      '2026-02-29T00:00:00Z',
      '2026-11-26T24:00:00Z',
      '2026-11-26T08:60:00Z',
      '0099-01-01T00:00:00Z',
      '2026-11-26Z',
      '2026-11-26T08:00:00+24:00',
      '26-11-2026',
      '',
    ]) {
      expect(parseTimestampDetailed(bad, BERLIN)).toEqual({ ok: false, problem: 'format' });
    }
  });

  it('refuses instants past the year 9999, which ISO 8601 cannot write with four digits', () => {
    expect(at('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(at('9999-12-31T23:59:59+01:00')).toBe('9999-12-31T22:59:59.000Z');
    // Berlin wall clock an hour ahead of UTC: still within the year 9999.
    expect(at('9999-12-31T23:30:00')).toBe('9999-12-31T22:30:00.000Z');
    expect(parseTimestampDetailed('9999-12-31T23:59:59-23:59', BERLIN)).toEqual({ ok: false, problem: 'range' });
    expect(parseTimestampDetailed('9999-12-31T23:30:00', 'Pacific/Honolulu')).toEqual({ ok: false, problem: 'range' });
  });
});

describe('the API in a Berlin plant', () => {
  let gw: TestGateway;
  let planner: string;
  beforeEach(async () => {
    gw = makeGateway({ PLANT_TZ: BERLIN });
    planner = (await gw.login('planner')).token;
  });
  afterEach(() => gw.close());

  const create = (planned_start: string, planned_end: string) =>
    gw.req('POST', '/workorders', { token: planner, body: { product_code: 'P-1', lot_no: 'LOT-1', qty: 1, planned_start, planned_end } });

  it('answers 422 VALIDATION_ERROR for a time the clocks skip, and creates nothing', async () => {
    const res = await create('2026-03-29T02:30:00', '2026-03-29T06:00:00');
    expect(res.status).toBe(422);
    const { error } = await body(res);
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.details).toEqual([{ path: 'planned_start', message: expect.stringContaining('does not exist in Europe/Berlin') }]);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(0);
  });

  it('answers 422 for a time past the year 9999 instead of storing one it cannot write back', async () => {
    const res = await create('2026-11-26T08:00:00Z', '9999-12-31T23:59:59-23:59');
    expect(res.status).toBe(422);
    expect((await body(res)).error.details).toEqual([{ path: 'planned_end', message: 'must be before the year 10000 (UTC)' }]);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(0);
  });

  it('stores the earlier instant for a repeated time', async () => {
    const res = await create('2026-10-25T02:30:00', '2026-10-25T06:00:00');
    expect(res.status).toBe(201);
    expect((await body<{ planned_start: string; planned_end: string }>(res)).data).toMatchObject({
      planned_start: '2026-10-25T00:30:00.000Z',
      planned_end: '2026-10-25T05:00:00.000Z',
    });
  });
});
