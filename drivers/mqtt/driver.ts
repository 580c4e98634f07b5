import type { DeviceStatus, Driver, DriverLogger } from '../engine/types.ts';
import type { MqttDevice } from './config.ts';
import { type BrokerLink, type BrokerSettings, openBrokerLink, safeUrl } from './connection.ts';
import { decodeMessage, type RejectReason } from './mapping.ts';

/** A reading ready for the gateway's readings writer. */
export interface IngestedReading {
  machineId: number;
  readingType: string;
  value: number;
  unit: string | null;
  quality: 'good';
  reason: null;
  sourceTs: number;
}

/** What the ingest driver is given: where readings go and how machine names resolve. */
export interface IngestDeps {
  logger: DriverLogger;
  push(readings: IngestedReading[]): void;
  /** The machine's id, or undefined when no machine has that name (the message is dropped). */
  machineId(name: string): number | undefined;
  onRejected?(reason: RejectReason): void;
  now?: () => number;
}

export interface IngestStats {
  received: number;
  stored: number;
  rejected: number;
}

/**
 * Subscribes (QoS 1) to the device's topic filters and turns JSON payloads into readings. A bad
 * payload is counted and dropped, logged at most once per topic per log_interval_s.
 */
export function createMqttIngestDriver(device: MqttDevice, broker: Omit<BrokerSettings, 'will'>, deps: IngestDeps): Driver & { stats(): IngestStats } {
  const log = deps.logger.child({ module: 'mqtt-ingest', device: device.name });
  const now = deps.now ?? Date.now;
  const filters = [...new Set(device.subscriptions.map((s) => s.topic))];
  const stats: IngestStats = { received: 0, stored: 0, rejected: 0 };
  const loggedAt = new Map<string, { at: number; suppressed: number }>();
  let link: BrokerLink | undefined;
  let lastMessageAt: number | null = null;
  let lastStoredAt: number | null = null;
  let lastReject: { message: string; at: number } | null = null;
  let subscribed = false; // connected counts only once the broker has granted the subscriptions

  const reject = (topic: string, reason: RejectReason, detail: string) => {
    stats.rejected++;
    deps.onRejected?.(reason);
    const t = now();
    lastReject = { message: `${reason}: ${detail}`, at: t };
    const seen = loggedAt.get(topic);
    if (seen && t - seen.at < device.log_interval_s * 1000) {
      seen.suppressed++;
      return;
    }
    if (loggedAt.size >= 10_000) loggedAt.clear(); // a flood of distinct topics must not grow memory
    loggedAt.set(topic, { at: t, suppressed: 0 });
    log.warn({ topic: topic.slice(0, 256), reason, detail, suppressed_since_last: seen?.suppressed ?? 0 }, 'mqtt payload dropped');
  };

  const onMessage = (topic: string, payload: Buffer) => {
    stats.received++;
    const t = now();
    lastMessageAt = t;
    const decoded = decodeMessage(device.subscriptions, topic, payload, device.max_payload_bytes, t);
    if (!decoded.ok) return reject(topic, decoded.reason, decoded.detail);
    const readings: IngestedReading[] = [];
    for (const r of decoded.readings) {
      const machineId = deps.machineId(r.machine);
      if (machineId === undefined) return reject(topic, 'unknown_machine', `no machine named '${r.machine.slice(0, 64)}'`);
      readings.push({ machineId, readingType: r.readingType, value: r.value, unit: r.unit, quality: 'good', reason: null, sourceTs: r.sourceTs });
    }
    if (readings.length === 0) return;
    deps.push(readings);
    stats.stored += readings.length;
    lastStoredAt = t;
  };

  return {
    name: device.name,
    start: () => {
      link = openBrokerLink(broker, log);
      const client = link.client;
      client.on('message', (topic, payload) => {
        try {
          onMessage(topic, payload);
        } catch (err) {
          // Whatever a payload does, the gateway keeps running.
          log.error({ err, topic: topic.slice(0, 256) }, 'mqtt message handling failed');
        }
      });
      // Subscribing again on every CONNACK is idempotent, and covers a broker that lost our session.
      client.on('close', () => {
        subscribed = false;
      });
      link.onConnect(() => {
        client.subscribe(filters, { qos: 1 }, (err, granted) => {
          const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (err || refused.length > 0) log.warn({ err: err?.message, refused, url: safeUrl(broker.url) }, 'mqtt subscribe failed');
          subscribed = !err && refused.length === 0;
        });
      });
    },
    stop: async () => {
      await link?.close();
      link = undefined;
    },
    status: (): DeviceStatus => {
      const e = link?.lastError() ?? null;
      const last = e && (!lastReject || e.at >= lastReject.at) ? e : lastReject;
      const connected = (link?.connected() ?? false) && subscribed;
      // "Tags" of an ingest device are its subscriptions: good while they are granted.
      const subs = device.subscriptions.length;
      return {
        device: device.name,
        protocol: 'mqtt',
        connected,
        last_poll_at: lastMessageAt,
        last_success_at: lastStoredAt,
        last_error: last?.message ?? null,
        last_error_at: last?.at ?? null,
        poll_duration_ms: null,
        tags_total: subs,
        tags_good: connected ? subs : 0,
        tags_bad: connected ? 0 : subs,
        tags_uncertain: 0,
      };
    },
    stats: () => ({ ...stats }),
  };
}
