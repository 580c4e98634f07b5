import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { createBackoff } from '../engine/backoff.ts';
import type { BrokerDefaults, DriverLogger } from '../engine/types.ts';

/** How to reach a broker; shared by the publisher and the ingest driver. */
export interface BrokerSettings extends BrokerDefaults {
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Published by the broker if this client vanishes without a clean disconnect. */
  will?: { topic: string; payload: string; retain: boolean };
}

/** The URL without user:password@, for log lines. */
export function safeUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/** A client that reconnects on its own, with figures for /drivers/status. */
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
 */
export function openBrokerLink(s: BrokerSettings, logger: DriverLogger): BrokerLink {
  const opts: IClientOptions = {
    clientId: s.clientId,
    clean: false,
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
    ...(s.will ? { will: { topic: s.will.topic, payload: Buffer.from(s.will.payload), qos: 1, retain: s.will.retain } } : {}),
  };
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
    if (closing || retry) return;
    const wait = backoff.next();
    logger.debug({ url, retry_in_ms: wait }, 'mqtt disconnected');
    retry = setTimeout(() => {
      retry = undefined;
      if (!closing) client.reconnect();
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
