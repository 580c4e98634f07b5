import { createDeviceState } from '../engine/device-state.ts';
import type { BrokerDefaults, Driver, DriverDeps, Sample } from '../engine/types.ts';
import type { MqttDevice } from './config.ts';
import { type BrokerLink, type BrokerSettings, handleMessages, openBrokerLink, safeUrl } from './connection.ts';
import { decodeMessage, type RejectReason } from './mapping.ts';

/**
 * The device's broker: its own `url`, else the gateway's (MQTT_URL) with its credentials and TLS
 * files. The client id is stable (`<MQTT_CLIENT_ID>-<name>` unless set), so with clean session off
 * the broker keeps the QoS 1 subscriptions across reconnects.
 */
export function ingestBroker(
  d: Pick<MqttDevice, 'name' | 'url' | 'client_id' | 'username' | 'password' | 'reconnect'>,
  gw: BrokerDefaults | undefined,
): Omit<BrokerSettings, 'will'> {
  const url = d.url ?? gw?.url;
  if (!url) throw new Error(`device '${d.name}': url: required when MQTT_URL is not set`);
  const inherit = d.url === undefined && gw !== undefined;
  return {
    url,
    clientId: d.client_id ?? `${gw?.clientId ?? 'gateway'}-${d.name}`,
    username: d.username ?? (inherit ? gw.username : undefined),
    password: d.password ?? (inherit ? gw.password : undefined),
    caFile: inherit ? gw.caFile : undefined,
    certFile: inherit ? gw.certFile : undefined,
    keyFile: inherit ? gw.keyFile : undefined,
    reconnectInitialMs: d.reconnect.initial_ms,
    reconnectMaxMs: d.reconnect.max_ms,
  };
}

/**
 * Subscribes (QoS 1) to the device's topic filters and turns JSON payloads into samples that name
 * their machine; the gateway resolves the name. A bad payload is counted and dropped, logged at most
 * once per topic per log_interval_s. The device's "tags" in /drivers/status are its subscriptions:
 * uncertain once granted until a message comes, good after one, bad while disconnected.
 */
export function createMqttIngestDriver(device: MqttDevice, deps: DriverDeps): Driver {
  const log = deps.logger.child({ module: 'mqtt-ingest', device: device.name });
  const now = deps.now ?? Date.now;
  const broker = ingestBroker(device, deps.broker);
  const filters = [...new Set(device.subscriptions.map((s) => s.topic))];
  const tags = device.subscriptions.map((s, i) => `${i + 1}:${s.topic}`);
  const state = createDeviceState({
    device: device.name,
    protocol: 'mqtt',
    tags,
    sink: deps.sink,
    log,
    now,
    // Machines publish when they choose: no stale rule (aging is never started).
    staleAfterMs: () => Number.POSITIVE_INFINITY,
    checkEveryMs: 1000,
    onConnectedChange: deps.onConnectedChange,
  });
  const loggedAt = new Map<string, { at: number; suppressed: number }>();
  let link: BrokerLink | undefined;

  /** Logs (at most once per topic per interval) and shows a dropped message; the count is the caller's. */
  const note = (topic: string, reason: RejectReason, detail: string) => {
    state.received(false);
    state.fail(`${reason}: ${detail}`, { logged: true });
    const t = now();
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
    const decoded = decodeMessage(device.subscriptions, topic, payload, device.max_payload_bytes, now());
    if (!decoded.ok) {
      deps.onRejected?.(decoded.reason);
      return note(topic, decoded.reason, decoded.detail);
    }
    const samples: Sample[] = decoded.readings.map((r) => ({
      tag: tags[r.subscription] ?? String(r.subscription),
      value: r.value,
      quality: 'good',
      reason: null,
      sourceTs: r.sourceTs,
      target: { machine: r.machine, readingType: r.readingType, unit: r.unit },
    }));
    // One message is one batch: the gateway takes all of it or none (an unknown machine is counted
    // by the gateway's sink; a batch the sink could not take at all is counted here).
    const refused = state.emit(samples);
    if (refused?.reason === 'not_stored') deps.onRejected?.(refused.reason);
    if (refused) return note(topic, refused.reason, refused.detail);
    state.received(samples.length > 0);
  };

  const subscribed = () => {
    state.setConnected(true);
    const t = now();
    state.emit(
      tags.filter((tag) => state.qualityOf(tag) !== 'good').map((tag) => ({ tag, value: null, quality: 'uncertain', reason: 'no message yet', sourceTs: t })),
    );
  };

  return {
    name: device.name,
    start: () => {
      link = openBrokerLink(broker, log);
      const client = link.client;
      handleMessages(client, log, 'mqtt', onMessage);
      // The connection logs its own errors, one line per distinct error.
      client.on('error', (err) => state.fail(`broker: ${err.message}`, { logged: true }));
      client.on('close', () => {
        state.setConnected(false);
        state.markBad(tags, 'not connected');
      });
      // Subscribing again on every CONNACK is idempotent, and covers a broker that lost our session.
      link.onConnect(() => {
        client.subscribe(filters, { qos: 1 }, (err, granted) => {
          const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (!err && refused.length === 0) return subscribed();
          // The connection dropped before the SUBACK: nothing was refused, and the next CONNACK
          // subscribes again (the tags already show 'not connected').
          if (err && !client.connected) return log.debug({ err: err.message }, 'mqtt subscribe cut off by a disconnect');
          log.warn({ err: err?.message, refused, url: safeUrl(broker.url) }, 'mqtt subscribe failed');
          state.fail(`subscribe refused: ${err?.message ?? refused.join(', ')}`, { logged: true });
        });
      });
    },
    stop: async () => {
      await link?.close();
      link = undefined;
      state.setConnected(false);
    },
    status: () => state.status(),
  };
}
