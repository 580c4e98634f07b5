import { describe, expect, it } from 'vitest';
import { plannedSpans } from '../../src/modules/oee/calendar.ts';
import { oeeSettingsSchema } from '../../src/core/oee-settings.ts';
import { downtimeStops, stopsOf } from '../../src/modules/oee/downtime-records.ts';
import { computeOee, counterDelta } from '../../src/modules/oee/figures.ts';
import { deriveStates } from '../../src/modules/oee/states.ts';

const MIN = 60_000;
const at = (hhmm: string) => Date.parse(`2026-07-01T${hhmm}:00Z`);

// A shift of 480 minutes with two 15-minute breaks and a 30-minute meal: 420 minutes planned
// (the worked example of OEE's usual textbook form, ISO 22400-2's availability, effectiveness and quality rate).
const { shifts } = oeeSettingsSchema.parse({
  shifts: [
    {
      name: 'day',
      days: ['wed'],
      start: '06:00',
      end: '14:00',
      breaks: [
        { start: '08:00', end: '08:15' },
        { start: '10:00', end: '10:30' },
        { start: '12:00', end: '12:15' },
      ],
    },
  ],
});
const shift = { from: at('06:00'), to: at('14:00') };
const planned = plannedSpans(shifts, shift, 'UTC');

describe('OEE figures', () => {
  it('reproduces the worked example: 420 min planned, 47 min down, 19,271 pieces at 1 s, 423 scrap', () => {
    const states = deriveStates(
      [
        { at: at('05:50'), state: 'running' },
        { at: at('06:30'), state: 'down' },
        { at: at('07:17'), state: 'running' },
      ],
      undefined,
      shift,
    );
    const f = computeOee({
      planned,
      states,
      counts: [{ source: 'stage', stage_id: 1, product_code: 'P', good: 18_848, scrap: 423, ideal_cycle_s: 1 }],
      downtimes: [{ id: 9, from: at('06:30'), to: at('07:17'), reason_code: 'tool_change', loss: 'setup' }],
    });
    expect(f.planned_ms).toBe(420 * MIN);
    expect(f.run_ms).toBe(373 * MIN);
    // By hand: A = 373 / 420, P = 19,271 s / 22,380 s, Q = 18,848 / 19,271, OEE = 18,848 s / 25,200 s.
    expect(f.availability).toBeCloseTo(373 / 420, 12);
    expect(f.performance).toBeCloseTo(19_271 / 22_380, 12);
    expect(f.quality).toBeCloseTo(18_848 / 19_271, 12);
    expect(f.oee).toBeCloseTo(18_848 / 25_200, 12);
    expect(Math.round((f.oee ?? 0) * 10_000)).toBe(7479);
    expect(f.losses).toMatchObject({
      setup_ms: 47 * MIN,
      breakdown_ms: 0,
      short_stop_ms: 0,
      unknown_ms: 0,
      speed_loss_ms: (22_380 - 19_271) * 1000,
      scrap_loss_ms: 423_000,
      by_reason: [{ reason_code: 'tool_change', ms: 47 * MIN }],
    });
  });

  it('a gateway restart mid-shift: the time it was down is unknown, not running', () => {
    // Running from 06:00; the gateway's last sign of life 09:00, started again 09:20; no status change since.
    const states = deriveStates(
      [{ at: at('05:00'), state: 'running' }],
      {
        runs: [
          { from: at('04:00'), to: at('09:00') },
          { from: at('09:20'), to: at('14:00') },
        ],
        firstStart: at('04:00'),
      },
      shift,
    );
    expect(states).toEqual([
      { state: 'running', from: at('06:00'), to: at('09:00') },
      { state: 'unknown', from: at('09:00'), to: at('09:20') },
      { state: 'running', from: at('09:20'), to: at('14:00') },
    ]);
    const f = computeOee({ planned, states, counts: [], downtimes: [] });
    expect(f.losses.unknown_ms).toBe(20 * MIN);
    expect(f.availability).toBeCloseTo(400 / 420, 12);
    expect(f.quality).toBeNull();
    expect(f.oee).toBeNull();
  });

  it('stops become downtime only past the threshold inside planned time; a stop in a break does not count', () => {
    const states = deriveStates(
      [
        { at: at('05:00'), state: 'running' },
        { at: at('07:00'), state: 'idle' }, // 1 min: a short stop
        { at: at('07:01'), state: 'running' },
        { at: at('08:00'), state: 'down' }, // all inside the 08:00–08:15 break
        { at: at('08:15'), state: 'running' },
        { at: at('09:00'), state: 'down' }, // 3 minutes, idle then down: one stop
        { at: at('09:02'), state: 'idle' },
        { at: at('09:03'), state: 'running' },
        { at: at('13:55'), state: 'offline' }, // still going at 14:00 (now)
      ],
      undefined,
      shift,
    );
    const stops = downtimeStops(stopsOf(states, shift.to), planned, 2 * MIN);
    expect(stops).toEqual([
      { from: at('09:00'), to: at('09:03'), state: 'down', ongoing: false },
      { from: at('13:55'), to: at('14:00'), state: 'offline', ongoing: true },
    ]);
  });

  it('counter tags: rises add up, a wrap continues from 0, a reset counts from 0', () => {
    expect(counterDelta([10, 15, 20], 65_536)).toBe(10);
    expect(counterDelta([65_530, 65_535, 4], 65_536)).toBe(5 + 5); // 65535 → 0 → 4
    expect(counterDelta([300, 7], 65_536)).toBe(7); // a reset low in the range is not a wrap
    expect(counterDelta([300, 7], undefined)).toBe(7);
    expect(counterDelta([5], undefined)).toBe(0);
  });

  it('performance is unknown when a product has no ideal cycle time', () => {
    const states = deriveStates([{ at: at('05:00'), state: 'running' }], undefined, shift);
    const f = computeOee({
      planned,
      states,
      counts: [{ source: 'stage', stage_id: 1, product_code: 'X', good: 10, scrap: 0, ideal_cycle_s: null }],
      downtimes: [],
    });
    expect(f.availability).toBe(1);
    expect(f.quality).toBe(1);
    expect(f.performance).toBeNull();
    expect(f.oee).toBeNull();
  });
});
