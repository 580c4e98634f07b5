import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReadingsStored, ShopEvent } from '../src/events/bus.ts';
import { body, makeGateway, T0, type TestGateway } from './helpers/app.ts';

// The readings writer tells the in-process bus what it stored (the console's live machine pages
// listen): one message per committed batch, the newest value per machine and reading type.

let gw: TestGateway;
let machineId: number;
let planner: string;
let batches: ReadingsStored[];
let events: ShopEvent[];
beforeEach(async () => {
  gw = makeGateway();
  planner = (await gw.login('planner')).token;
  machineId = (await body<{ id: number }>(await gw.req('POST', '/machines', { token: planner, body: { name: 'press-1', machine_type: 'press' } }))).data.id;
  batches = [];
  events = [];
  gw.ctx.bus.subscribeReadings((b) => batches.push(b));
  gw.ctx.bus.subscribe((e) => events.push(e));
});
afterEach(() => gw.close());

const reading = (readingType: string, value: number, sourceTs: number) => ({
  machineId,
  readingType,
  value,
  unit: 'C',
  quality: 'good' as const,
  reason: null,
  sourceTs,
});

describe('stored readings on the event bus', () => {
  it('publishes one message per driver flush with the newest value per reading type, after the commit', () => {
    gw.ctx.readings.push([reading('temp', 20, T0 + 2), reading('temp', 19, T0 + 1), reading('temp', 21, T0 + 3), reading('rpm', 900, T0)], 'modbus');
    gw.ctx.readings.push([reading('rpm', 950, T0 + 5)], 'modbus');
    expect(batches).toEqual([]); // buffered, nothing committed yet
    gw.ctx.readings.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]?.count).toBe(5);
    const latest = Object.fromEntries((batches[0]?.latest ?? []).map((l) => [l.readingType, [l.value, l.sourceTs]]));
    expect(latest).toEqual({ temp: [21, T0 + 3], rpm: [950, T0 + 5] });
    // What the message says is what is stored.
    const stored = gw.ctx.store.sqlite.prepare('SELECT reading_type, value FROM machine_latest WHERE machine_id = ? ORDER BY reading_type').all(machineId);
    expect(stored).toEqual([
      { reading_type: 'rpm', value: 950 },
      { reading_type: 'temp', value: 21 },
    ]);
    // Shop-floor event listeners (MQTT's nudge, the console's refresh) are not woken by readings.
    expect(events).toEqual([]);
  });

  it('publishes a posted batch once it is stored, and nothing for a refused one', async () => {
    const ok = await gw.req('POST', `/machines/${machineId}/readings`, {
      token: planner,
      body: [
        { reading_type: 'temp', value: 20.5, unit: 'C' },
        { reading_type: 'temp', value: 22.5, unit: 'C', timestamp: new Date(T0 + 60_000).toISOString() },
      ],
    });
    expect(ok.status).toBe(201);
    expect(batches.map((b) => b.latest.map((l) => l.value))).toEqual([[22.5]]);
    const refused = await gw.req('POST', `/machines/${machineId}/readings`, {
      token: planner,
      body: [
        { reading_type: 'temp', value: 1, unit: 'C' },
        { reading_type: 'temp', value: 2, timestamp: new Date(T0 + 3600_000).toISOString() },
      ],
    });
    expect(refused.status).toBe(422);
    expect(batches).toHaveLength(1);
  });

  it('knows whether anyone listens, so the writer builds no message for nobody', () => {
    const quiet = makeGateway();
    try {
      expect(quiet.ctx.bus.hasReadingsListeners()).toBe(false);
      const stop = quiet.ctx.bus.subscribeReadings(() => {});
      expect(quiet.ctx.bus.hasReadingsListeners()).toBe(true);
      stop();
      expect(quiet.ctx.bus.hasReadingsListeners()).toBe(false);
    } finally {
      quiet.close();
    }
  });
});
