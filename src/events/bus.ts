import { EventEmitter } from 'node:events';

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

/** In-process bus: services emit committed events, MQTT and metrics listen. */
export interface EventBus {
  publish(event: ShopEvent): void;
  subscribe(listener: (event: ShopEvent) => void): () => void;
}

export function createEventBus(onListenerError: (err: unknown) => void = () => {}): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(50);
  return {
    publish: (event) => {
      for (const listener of emitter.listeners('event')) {
        try {
          (listener as (e: ShopEvent) => void)(event);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe: (listener) => {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
  };
}
