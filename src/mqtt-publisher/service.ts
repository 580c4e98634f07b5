import { Counter, Gauge } from 'prom-client';
import type { AppContext, PublisherStatusEntry } from '../context.ts';
import { setOutboxQueueing } from './outbox.ts';
import type { MqttPublisher, PublisherOptions, PublisherStatus } from './publisher.ts';

/** A publishing queue's /drivers/status entry (the plain publisher's, the Sparkplug edge node's). */
export function publisherStatusEntry(device: string, protocol: string, s: Omit<PublisherStatus, 'published'>): PublisherStatusEntry {
  return {
    device,
    protocol,
    connected: s.connected,
    last_poll_at: s.lastPublishedAt,
    last_success_at: s.lastPublishedAt,
    last_error: s.lastError,
    last_error_at: s.lastErrorAt,
    poll_duration_ms: null,
    tags_total: 0,
    tags_good: 0,
    tags_bad: 0,
    tags_uncertain: 0,
    queue_depth: s.queueDepth,
    dropped: s.dropped,
    skipped: s.skipped,
  };
}

/** Publisher figures on /metrics, read when scraped. */
function registerMetrics(ctx: AppContext, publisher: MqttPublisher): void {
  const registers = [ctx.metrics.registry];
  new Gauge({
    name: 'gateway_mqtt_connected',
    help: 'MQTT publisher connected to the broker (1) or not (0)',
    registers,
    collect() {
      this.set(publisher.status().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gateway_mqtt_queue_depth',
    help: 'Messages waiting in the MQTT store-and-forward queue',
    registers,
    collect() {
      this.set(publisher.status().queueDepth);
    },
  });
  // Counters owned by the publisher; exposed as gauges of its running totals since start.
  for (const [name, help, read] of [
    ['gateway_mqtt_dropped_total', 'Queued MQTT messages dropped (oldest first) over the queue cap', (s: PublisherStatus) => s.dropped],
    [
      'gateway_mqtt_skipped_total',
      'Queued MQTT messages not sent because their row was deleted first (readings pruned by retention)',
      (s: PublisherStatus) => s.skipped,
    ],
    ['gateway_mqtt_published_total', 'MQTT messages acknowledged by the broker (PUBACK)', (s: PublisherStatus) => s.published],
  ] as const) {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(publisher.status()));
      },
    });
  }
}

/**
 * Starts the publisher when MQTT_URL is set. Without it the queue triggers are switched off, so
 * a gateway without a broker grows no queue (and mqtt.js, slow to load, is not loaded).
 */
export async function startMqtt(ctx: AppContext, opts: PublisherOptions = {}): Promise<{ name: string; publisher?: MqttPublisher; stop(): Promise<void> }> {
  const cfg = ctx.config.mqtt;
  if (!cfg) {
    setOutboxQueueing(ctx.store.sqlite, false);
    return { name: 'mqtt', stop: async () => {} };
  }
  const { createMqttPublisher } = await import('./publisher.ts');
  const { safeUrl } = await import('../../drivers/mqtt/connection.ts');
  const publisher = createMqttPublisher({ sqlite: ctx.store.sqlite, logger: ctx.logger, siteId: ctx.config.siteId }, cfg, ctx.config.settings.mqtt, opts);
  registerMetrics(ctx, publisher);
  ctx.statusBoard.addPublisher(() => publisherStatusEntry('mqtt-publisher', 'mqtt', publisher.status()));
  // Events are published on the bus after commit: send them at once. Readings are picked up by
  // the publisher's timer (every 100 ms, the readings writer's own flush period).
  const unsubscribe = ctx.bus.subscribe(() => publisher.nudge());
  publisher.start();
  ctx.logger.info({ url: safeUrl(cfg.url), client_id: cfg.clientId, prefix: cfg.topicPrefix }, 'mqtt publisher started');
  return {
    name: 'mqtt',
    publisher,
    stop: async () => {
      unsubscribe();
      await publisher.stop();
    },
  };
}
