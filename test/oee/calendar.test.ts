import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { plannedSpans, shiftAt, shiftById, shiftsBetween } from '../../src/modules/oee/calendar.ts';
import { oeeSettingsSchema } from '../../src/core/oee-settings.ts';

const H = 3_600_000;
const MIN = 60_000;
const BERLIN = 'Europe/Berlin';

const { shifts } = oeeSettingsSchema.parse({
  shifts: [
    {
      name: 'early',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '06:00',
      end: '14:00',
      breaks: [
        { start: '09:00', end: '09:15' },
        { start: '12:00', end: '12:30' },
      ],
    },
    { name: 'night', days: ['sat', 'mon'], start: '22:00', end: '06:00', breaks: [{ start: '00:00', end: '00:30' }] },
  ],
});

describe('plant calendar', () => {
  it('a day shift: planned time is the shift minus its breaks, in plant time', () => {
    // 2026-07-01 is a Wednesday; Berlin is UTC+2 in summer.
    const s = shiftById(shifts, '2026-07-01/early', BERLIN);
    expect(s?.start).toBe(Date.parse('2026-07-01T04:00:00Z'));
    expect(s?.end).toBe(Date.parse('2026-07-01T12:00:00Z'));
    expect(s?.breaks).toEqual([
      { from: Date.parse('2026-07-01T07:00:00Z'), to: Date.parse('2026-07-01T07:15:00Z') },
      { from: Date.parse('2026-07-01T10:00:00Z'), to: Date.parse('2026-07-01T10:30:00Z') },
    ]);
    expect(s?.plannedMs).toBe(8 * H - 45 * MIN);
  });

  it('a night shift crosses midnight; its break after midnight is on the next day', () => {
    const s = shiftById(shifts, '2026-07-06/night', BERLIN); // Monday
    expect(s?.start).toBe(Date.parse('2026-07-06T20:00:00Z'));
    expect(s?.end).toBe(Date.parse('2026-07-07T04:00:00Z'));
    expect(s?.breaks).toEqual([{ from: Date.parse('2026-07-06T22:00:00Z'), to: Date.parse('2026-07-06T22:30:00Z') }]);
    expect(s?.plannedMs).toBe(8 * H - 30 * MIN);
  });

  it('the night the clocks go forward is 7 hours long, the night they go back 9 hours', () => {
    // Berlin: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00 (both Sunday mornings).
    const spring = shiftById(shifts, '2026-03-28/night', BERLIN);
    expect(spring?.start).toBe(Date.parse('2026-03-28T21:00:00Z'));
    expect(spring?.end).toBe(Date.parse('2026-03-29T04:00:00Z'));
    expect(spring?.plannedMs).toBe(6.5 * H);
    const autumn = shiftById(shifts, '2026-10-24/night', BERLIN);
    expect(autumn?.start).toBe(Date.parse('2026-10-24T20:00:00Z'));
    expect(autumn?.end).toBe(Date.parse('2026-10-25T05:00:00Z'));
    expect(autumn?.plannedMs).toBe(8.5 * H);
  });

  it('a shift that starts in the hour the clocks skip starts at the first instant after the gap', () => {
    const { shifts: odd } = oeeSettingsSchema.parse({ shifts: [{ name: 'odd', days: ['sun'], start: '02:30', end: '10:00' }] });
    const s = shiftById(odd, '2026-03-29/odd', BERLIN);
    expect(s?.start).toBe(Date.parse('2026-03-29T01:30:00Z')); // 03:30 CEST
    expect(s?.plannedMs).toBe(6.5 * H);
  });

  it('unknown shift ids and days the shift does not work are undefined', () => {
    expect(shiftById(shifts, '2026-07-04/early', BERLIN)).toBeUndefined(); // Saturday
    expect(shiftById(shifts, '2026-07-01/late', BERLIN)).toBeUndefined();
    expect(shiftById(shifts, '2026-02-30/early', BERLIN)).toBeUndefined();
    expect(shiftById(shifts, 'early', BERLIN)).toBeUndefined();
  });

  it('shifts and planned spans of a range; the running shift at an instant', () => {
    const from = Date.parse('2026-07-06T00:00:00Z');
    const to = Date.parse('2026-07-07T12:00:00Z');
    expect(shiftsBetween(shifts, { from, to }, BERLIN).map((s) => s.id)).toEqual(['2026-07-06/early', '2026-07-06/night', '2026-07-07/early']);
    // Only the part of the night shift inside the range counts, without its break.
    const spans = plannedSpans(shifts, { from: Date.parse('2026-07-06T21:00:00Z'), to: Date.parse('2026-07-06T23:00:00Z') }, BERLIN);
    expect(spans).toEqual([
      { from: Date.parse('2026-07-06T21:00:00Z'), to: Date.parse('2026-07-06T22:00:00Z') },
      { from: Date.parse('2026-07-06T22:30:00Z'), to: Date.parse('2026-07-06T23:00:00Z') },
    ]);
    expect(shiftAt(shifts, Date.parse('2026-07-07T03:59:59Z'), BERLIN)?.id).toBe('2026-07-06/night');
    expect(shiftAt(shifts, Date.parse('2026-07-07T04:00:00Z'), BERLIN)?.id).toBe('2026-07-07/early');
  });

  it('the last day ISO 8601 can write (9999-12-31, a Friday) ends: its shifts and planned time come back', () => {
    // The day after it is written +010000-01-01; stepping by text once looped forever here.
    const from = Date.parse('9999-12-31T00:00:00Z');
    const to = Date.parse('9999-12-31T23:59:59.999Z');
    for (const tz of ['UTC', BERLIN]) {
      expect(shiftsBetween(shifts, { from, to }, tz).map((s) => s.id)).toEqual(['9999-12-31/early']);
      expect(plannedSpans(shifts, { from, to: from + H }, tz)).toEqual([]);
    }
    expect(plannedSpans(shifts, { from, to }, 'UTC').reduce((sum, s) => sum + (s.to - s.from), 0)).toBe(8 * H - 45 * MIN);
  });
});

describe('oee calendar configuration', () => {
  const load = (yaml: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-oee-config-'));
    try {
      mkdirSync(path.join(dir, 'config'));
      writeFileSync(path.join(dir, 'config', 'gateway.yaml'), yaml);
      return loadConfig({ NODE_ENV: 'test', CONFIG_DIR: 'config', DATABASE_PATH: ':memory:' }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('defaults: no shifts, a 2-minute threshold, no issues opened, a reason tree', () => {
    const oee = load('stage_template: [cut]\n').settings.oee;
    expect(oee.shifts).toEqual([]);
    expect(oee.downtime).toEqual({ threshold_s: 120, open_issue_after_s: 0 });
    expect(oee.reasons.find((g) => g.code === 'changeover')?.children.map((c) => c.code)).toContain('tool_change');
  });

  it.each([
    ['oee:\n  shifts: [{ name: a, days: [mon], start: "6:00", end: "14:00" }]\n', /oee\.shifts\.0\.start: must be a plant-local time of day/],
    ['oee:\n  shifts: [{ name: a, days: [monday], start: "06:00", end: "14:00" }]\n', /oee\.shifts\.0\.days\.0: must be one of sun mon/],
    ['oee:\n  shifts: [{ name: a, days: [mon], start: "06:00", end: "06:00" }]\n', /oee\.shifts\.0\.end: must differ from start/],
    [
      'oee:\n  shifts: [{ name: a, days: [mon], start: "06:00", end: "14:00", breaks: [{ start: "13:30", end: "14:30" }] }]\n',
      /oee\.shifts\.0\.breaks\.0: must lie inside the shift 06:00–14:00/,
    ],
    [
      'oee:\n  shifts: [{ name: a, days: [mon], start: "06:00", end: "14:00" }, { name: b, days: [mon], start: "13:00", end: "22:00" }]\n',
      /oee\.shifts\.1: overlaps shift a on mon/,
    ],
    // Saturday's night shift runs into Sunday morning's early shift: the week wraps.
    [
      'oee:\n  shifts: [{ name: e, days: [sun], start: "05:00", end: "13:00" }, { name: n, days: [sat], start: "22:00", end: "06:00" }]\n',
      /oee\.shifts\.1: overlaps shift e on sat/,
    ],
    ['oee:\n  downtime: { threshold_s: 0 }\n', /oee\.downtime\.threshold_s: /],
    ['oee:\n  reasons: [{ code: a, label: A, children: [{ code: a, label: A2 }] }]\n', /oee\.reasons\.0\.children\.0\.code: code a is used twice/],
  ])('refuses a bad calendar with a message naming the key: %s', (yaml, message) => {
    expect(() => load(yaml)).toThrow(ConfigError);
    expect(() => load(yaml)).toThrow(message);
  });
});
