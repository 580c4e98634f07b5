import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { createBackoff } from '../engine/backoff.ts';
import type { BrokerDefaults, DriverLogger } from '../engine/types.ts';

/** How to reach a broker; shared by the publisher and the ingest driver. */
export interface BrokerSettings extends BrokerDefaults {
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Published by the broker if this client vanishes without a clean disconnect. */
  will?: BrokerWill;
  /** A will that changes with every connect (Sparkplug's NDEATH carries the connection's bdSeq): asked before each attempt. */
  nextWill?: () => BrokerWill;
  /** Clean session (default off: the broker keeps our subscriptions and queued messages). */
  clean?: boolean;
}

export interface BrokerWill {
  topic: string;
  payload: string | Uint8Array;
  retain: boolean;
}

const willOption = (w: BrokerWill) => ({ topic: w.topic, payload: Buffer.from(w.payload), qos: 1 as const, retain: w.retain });

/** Fails every publish still waiting for its PUBACK: its callback gets 'Message removed' at once. */
function failUnacknowledged(client: MqttClient): void {
  // Subscribes in flight were failed by mqtt.js itself ('Connection closed'); only publishes are left.
  for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
}

/** Hands every message to `handle`: whatever a payload does, the gateway keeps running (logged, never thrown). */
export function handleMessages(client: MqttClient, logger: DriverLogger, what: string, handle: (topic: string, payload: Buffer) => void): void {
  client.on('message', (topic, payload) => {
    try {
      handle(topic, payload);
    } catch (err) {
      logger.error({ err, topic: topic.slice(0, 256) }, `${what} message handling failed`);
    }
  });
}

/** The URL without user:password@, for log lines. */
export function safeUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/**
 * A client that reconnects on its own, with figures for /drivers/status. A QoS 1 publish still
 * waiting for its PUBACK when the connection drops fails (its callback gets an error) and is not
 * sent again by mqtt.js: the caller's own queue is the record and sends it again.
 */
export interface BrokerLink {
  readonly client: MqttClient;
  connected(): boolean;
  lastError(): { message: string; at: number } | null;
  /** Called on every CONNACK; sessionPresent false means the broker forgot our subscriptions. */
  onConnect(listener: (sessionPresent: boolean) => void): void;
  /** Clean disconnect (no last will); forced after timeoutMs when the broker does not answer. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Clean session off with a stable client id: the broker keeps our QoS 1 subscriptions and
 * queued messages across reconnects. mqtt.js reconnects on a fixed period; we reconnect
 * ourselves with capped exponential backoff and jitter instead, so a fleet does not retry in step.
 *
 * mqtt.js's reconnect() starts each connection with an empty outgoing store: a publish in flight
 * at the drop would be neither resent nor called back, its sender's slot and message stranded
 * until a restart. So every unacknowledged publish fails when the connection closes (mqtt.js's
 * store is memory; the publisher's queue in SQLite is the durable copy and sends it again), and
 * the empty store a reconnect starts with loses nothing.
 */
export function openBrokerLink(s: BrokerSettings, logger: DriverLogger): BrokerLink {
  const opts: IClientOptions = {
    clientId: s.clientId,
    clean: s.clean ?? false,
    protocolVersion: 4,
    keepalive: 30,
    connectTimeout: 10_000,
    reconnectPeriod: 0,
    username: s.username,
    password: s.password,
    rejectUnauthorized: true,
    ...(s.caFile ? { ca: readFileSync(s.caFile) } : {}),
    ...(s.certFile ? { cert: readFileSync(s.certFile) } : {}),
    ...(s.keyFile ? { key: readFileSync(s.keyFile) } : {}),
  };
  const will = s.nextWill?.() ?? s.will;
  if (will) opts.will = willOption(will);
  const backoff = createBackoff(s.reconnectInitialMs, s.reconnectMaxMs);
  const client = connect(s.url, opts);
  const url = safeUrl(s.url);
  let lastError: { message: string; at: number } | null = null;
  let loggedError = '';
  let closing = false;
  let retry: NodeJS.Timeout | undefined;
  const listeners: Array<(sessionPresent: boolean) => void> = [];

  client.on('connect', (connack) => {
    backoff.reset();
    loggedError = '';
    logger.info({ url, client_id: s.clientId, session_present: connack.sessionPresent }, 'mqtt connected');
    for (const l of listeners) l(connack.sessionPresent);
  });
  client.on('error', (err) => {
    lastError = { message: err.message, at: Date.now() };
    // One line per distinct error, not one per retry while the broker stays away.
    if (err.message !== loggedError) logger.warn({ url, err: err.message }, 'mqtt connection error');
    loggedError = err.message;
  });
  client.on('close', () => {
    if (closing) return;
    failUnacknowledged(client);
    if (retry) return;
    const wait = backoff.next();
    logger.debug({ url, retry_in_ms: wait }, 'mqtt disconnected');
    retry = setTimeout(() => {
      retry = undefined;
      if (closing) return;
      failUnacknowledged(client); // anything published while disconnected: the next store starts empty
      if (s.nextWill) client.options.will = willOption(s.nextWill());
      client.reconnect();
    }, wait);
    retry.unref();
  });

  return {
    client,
    connected: () => client.connected,
    lastError: () => lastError,
    onConnect: (listener) => {
      listeners.push(listener);
    },
    close: (timeoutMs = 2000) =>
      new Promise<void>((resolve) => {
        closing = true;
        if (retry) clearTimeout(retry);
        // Unacknowledged messages would make a graceful end wait for the broker forever: the
        // caller has waited for them as long as it wanted to, so drop the socket instead.
        const force = !client.connected || Object.keys(client.outgoing).length > 0;
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        client.end(force, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
