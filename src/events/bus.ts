import { EventEmitter } from 'node:events';
import type { Quality } from '../core/vocabulary.ts';

/** A shop-floor event as stored in the events table (published after commit). */
export interface ShopEvent {
  id: number;
  kind: string;
  entityType: string;
  entityId: number;
  workOrderId: number | null;
  fromStatus: string | null;
  toStatus: string | null;
  occurredAt: number;
  recordedAt: number;
  actorUserId: number | null;
  requestId: string | null;
  data: unknown;
}

/** One value of one machine's reading type: as drivers and the API hand it over, and the newest of a committed batch. */
export interface LatestReading {
  machineId: number;
  readingType: string;
  value: number | null;
  unit: string | null;
  quality: Quality;
  reason: string | null;
  /** When the value was true at the source (device or server timestamp), epoch ms. */
  sourceTs: number;
}

/** One committed readings batch: how many rows, and the newest value per (machine, reading type). */
export interface ReadingsStored {
  count: number;
  latest: LatestReading[];
}

/**
 * In-process bus: services emit committed events, MQTT and metrics listen. Stored readings go on a
 * channel of their own (one message per committed batch), so event listeners never see them.
 */
export interface EventBus {
  publish(event: ShopEvent): void;
  subscribe(listener: (event: ShopEvent) => void): () => void;
  publishReadings(batch: ReadingsStored): void;
  subscribeReadings(listener: (batch: ReadingsStored) => void): () => void;
  /** Whether anyone listens for readings (the writer skips building the message otherwise). */
  hasReadingsListeners(): boolean;
}

export function createEventBus(onListenerError: (err: unknown) => void = () => {}): EventBus {
  const emitter = new EventEmitter();
  // Each open console page holds one readings listener and one event listener.
  emitter.setMaxListeners(0);
  const emit = <T>(channel: string, payload: T) => {
    for (const listener of emitter.listeners(channel)) {
      try {
        (listener as (p: T) => void)(payload);
      } catch (err) {
        onListenerError(err);
      }
    }
  };
  return {
    publish: (event) => emit('event', event),
    subscribe: (listener) => {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    publishReadings: (batch) => emit('readings', batch),
    subscribeReadings: (listener) => {
      emitter.on('readings', listener);
      return () => emitter.off('readings', listener);
    },
    hasReadingsListeners: () => emitter.listenerCount('readings') > 0,
  };
}
