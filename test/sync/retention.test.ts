import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHousekeeping } from '../../src/modules/ops/housekeeping.ts';
import { rowCount, T0 } from '../helpers/app.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

let hq: Hq;
let edge: Edge;
beforeAll(async () => {
  hq = await startHq();
  edge = startEdge(21, await hq.addSite(21));
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await edge?.close();
  await hq?.close();
});

const DAY = 86_400_000;

describe('retention after sync', () => {
  it('prunes old readings and event rows only once HQ has them', async () => {
    const s = edge.gw.ctx.store.sqlite;
    const old = T0 - 200 * DAY;
    s.transaction(() => {
      const first = edge.gw.ctx.store.ids.block('machine_readings', 300);
      const put = s.prepare(
        "INSERT INTO machine_readings (id, machine_id, reading_type, value, quality, source_ts, recorded_at) VALUES (?, 1, 't', 1, 'good', ?, ?)",
      );
      for (let i = 0; i < 300; i++) put.run(first + i, old, old);
      s.prepare("INSERT INTO events (id, kind, entity_type, entity_id, occurred_at, recorded_at) VALUES (?, 'stage.started', 'stage', 1, ?, ?)").run(
        edge.gw.ctx.store.ids.next('events'),
        old,
        old,
      );
    })();
    // Not at HQ yet: nothing goes, and the event row cannot be deleted by hand either.
    expect(runHousekeeping(edge.gw.ctx)).toMatchObject({ readings: 0, events: 0 });
    expect(() => s.prepare('DELETE FROM events').run()).toThrow(/immutable until HQ has them/);
    await edge.sync.runCycle();
    expect(runHousekeeping(edge.gw.ctx)).toMatchObject({ readings: 300, events: 1 });
    expect(rowCount(edge.gw.ctx, 'machine_readings')).toBe(0);
    expect(rowCount(edge.gw.ctx, 'events')).toBe(0);
    expect(await hqRows(hq, 'SELECT count(*)::int AS n FROM machine_readings WHERE site_id = 21')).toEqual([{ n: 300 }]);
    expect(await hqRows(hq, 'SELECT count(*)::int AS n FROM events WHERE site_id = 21')).toEqual([{ n: 1 }]);
    // Readings go to month partitions, so HQ retention is dropping old partitions.
    const parts = await hqRows<{ n: number }>(hq, "SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'machine_readings'::regclass");
    expect(parts[0]?.n).toBeGreaterThan(12);
  });
});
