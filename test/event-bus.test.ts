import { describe, expect, it } from 'vitest';
import { createEventBus, type ShopEvent } from '../src/events/bus.ts';

const event = (id: number): ShopEvent => ({
  id,
  kind: 'stage.started',
  entityType: 'stage',
  entityId: 7,
  workOrderId: 3,
  fromStatus: 'planned',
  toStatus: 'in_progress',
  occurredAt: 1,
  recordedAt: 2,
  actorUserId: 1,
  requestId: 'r',
  data: null,
});

describe('event bus (MQTT, sync and the web console subscribe here)', () => {
  it('delivers each event to every subscriber in order, and a failing subscriber harms no other', () => {
    const failures: unknown[] = [];
    const bus = createEventBus((err) => failures.push(err));
    const a: number[] = [];
    const b: number[] = [];
    bus.subscribe(() => {
      throw new Error('broken listener');
    });
    bus.subscribe((e) => a.push(e.id));
    const stop = bus.subscribe((e) => b.push(e.id));
    bus.publish(event(1));
    stop();
    bus.publish(event(2));
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1]);
    expect(failures).toHaveLength(2);
  });
});
