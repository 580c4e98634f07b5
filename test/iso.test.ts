import { describe, expect, it } from 'vitest';
import { isoNow, isoUtc } from '../src/core/iso.ts';

describe('isoUtc', () => {
  it('writes exactly what Date#toISOString writes, across days, leap years and the ends of the range', () => {
    const edges = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 1_767_225_600_123, 4_107_542_399_999, 253_402_300_799_999];
    const spread = Array.from({ length: 20_000 }, (_, i) => Math.floor(i * 12_664_118_399.95 + (i % 1000)));
    for (const ms of [...edges, ...spread]) expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
  });

  it('keeps the built-in behaviour for values it does not take the short way', () => {
    for (const ms of [-1, -86_400_001, 1.5, 253_402_300_800_000, 8.64e15]) expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
  });
});

describe('isoNow', () => {
  it('is the wall clock in ISO 8601', () => {
    const before = Date.now();
    const now = Date.parse(isoNow());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
