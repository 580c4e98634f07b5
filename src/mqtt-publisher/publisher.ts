import type { Database } from 'better-sqlite3';
import { type BrokerLink, openBrokerLink } from '../../drivers/mqtt/connection.ts';
import { topicTree } from './topics.ts';
import type { FileSettings, MqttConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createAckBatch } from './acks.ts';
import { createOutbox } from './outbox.ts';

/** What GET /drivers/status and /metrics show about the publisher. */
export interface PublisherStatus {
  connected: boolean;
  queueDepth: number;
  dropped: number;
  /** Queued messages whose row was deleted before they were sent (readings pruned by retention). */
  skipped: number;
  published: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastPublishedAt: number | null;
}

/** Sends the SQLite queue to the broker, QoS 1, in order; a row leaves the queue after its PUBACK. */
export interface MqttPublisher {
  start(): void;
  /** New rows were committed: send them now rather than at the next timer tick. */
  nudge(): void;
  /** Sends what it can within the grace period, publishes `offline`, disconnects. */
  stop(): Promise<void>;
  status(): PublisherStatus;
}

export interface PublisherOptions {
  /** Fallback timer: picks up rows nobody nudged for (readings) and enforces the cap. */
  pollMs?: number;
  stopGraceMs?: number;
  /** PUBACKed rows are deleted in one statement once this many wait, or after ackFlushMs. */
  ackBatch?: number;
  ackFlushMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running total of messages lost one way, logged at most every 10 s with how many since the last line. */
function lossCounter(log: Logger, key: string, message: string, extra: object = {}) {
  let total = 0;
  let unlogged = 0;
  let loggedAt = 0;
  return {
    add(n: number) {
      total += n;
      unlogged += n;
      const now = Date.now();
      if (now - loggedAt < 10_000) return;
      log.warn({ [key]: unlogged, [`${key}_total`]: total, ...extra }, message);
      loggedAt = now;
      unlogged = 0;
    },
    total: () => total,
  };
}

export function createMqttPublisher(
  deps: { sqlite: Database; logger: Logger; siteId: number },
  cfg: MqttConfig,
  settings: FileSettings['mqtt'],
  opts: PublisherOptions = {},
): MqttPublisher {
  const log = deps.logger.child({ module: 'mqtt' });
  const topics = topicTree(cfg.topicPrefix, deps.siteId);
  const outbox = createOutbox(deps.sqlite, topics, settings.retain_last_values);
  const { pollMs = 100, stopGraceMs = 3000, ackBatch = 1000, ackFlushMs = 50 } = opts;
  const rate = settings.drain_rate_per_s;
  let link: BrokerLink | undefined;
  let cursor = 0; // last seq read; rows after it are read next
  // Sent and not yet acknowledged, and acknowledged but not yet deleted: a row in either is not sent
  // again when the cursor moves back over it (a failed publish rewinds it to its own row).
  const inflight = new Set<number>();
  let tokens = rate;
  let refilledAt = performance.now();
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let stopping = false;
  const dropped = lossCounter(log, 'dropped', 'mqtt queue over its cap: oldest messages dropped', { queue_max: settings.queue_max });
  // Retention pruned a queued reading's row before the broker came back: nothing left to send.
  const skipped = lossCounter(log, 'skipped', 'mqtt queue: messages skipped, their rows were deleted (retention) before they could be sent');
  let published = 0;
  let lastPublishedAt: number | null = null;
  // count(*) walks the whole queue; one scrape reads status() several times, so keep it 250 ms.
  let depth = { n: 0, at: Number.NEGATIVE_INFINITY };
  const queueDepth = () => {
    const t = performance.now();
    if (t - depth.at < 250) return depth.n;
    try {
      depth = { n: outbox.depth(), at: t };
    } catch {
      return -1; // database closed (after stop)
    }
    return depth.n;
  };

  const acks = createAckBatch({
    remove: outbox.remove,
    onRemoved: () => {
      depth.at = Number.NEGATIVE_INFINITY; // the cached depth is stale now
    },
    log,
    what: 'mqtt',
    batch: ackBatch,
    flushMs: ackFlushMs,
    stopping: () => stopping,
  });
  const flushAcks = acks.flush;
  const ack = (seq: number) => acks.add([seq]);

  const schedule = (delayMs = 0) => {
    if (scheduled || !link) return;
    scheduled = delayMs > 0 ? setTimeout(pump, delayMs) : setImmediate(pump);
  };

  // Token bucket: a backlog replays at `rate` per second; a quiet queue sends at once.
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(rate, tokens + ((now - refilledAt) * rate) / 1000);
    refilledAt = now;
  };

  function pump(): void {
    scheduled = undefined;
    const client = link?.client;
    if (!client?.connected) return;
    refill();
    const room = Math.min(settings.inflight - inflight.size, Math.floor(tokens), 500);
    if (room <= 0) {
      if (tokens < 1) schedule(Math.ceil(1000 / rate));
      return; // otherwise a PUBACK frees room and schedules the next pump
    }
    let rows: ReturnType<typeof outbox.read>;
    try {
      rows = outbox.read(cursor, room);
    } catch (err) {
      log.warn({ err }, 'mqtt queue read failed');
      return;
    }
    for (const m of rows) {
      cursor = m.seq;
      if (inflight.has(m.seq) || acks.has(m.seq)) continue;
      if (m.topic === null) {
        ack(m.seq);
        skipped.add(1);
        continue;
      }
      inflight.add(m.seq);
      tokens--;
      client.publish(m.topic, m.payload, { qos: 1, retain: m.retain }, (err) => {
        inflight.delete(m.seq);
        if (err) {
          // Not acknowledged (the connection dropped first): read it again from the queue on the
          // next connection. The broker may have it already; a duplicate is fine, a gap is not.
          cursor = Math.min(cursor, m.seq - 1);
        } else {
          published++;
          lastPublishedAt = Date.now();
          ack(m.seq);
        }
        schedule();
      });
    }
    if (rows.length === room) schedule();
  }

  const enforceCap = () => {
    const n = outbox.trim(settings.queue_max);
    if (n === 0) return;
    depth.at = Number.NEGATIVE_INFINITY; // status() must not show a depth from before the drop
    dropped.add(n);
  };

  const tick = () => {
    try {
      enforceCap();
    } catch (err) {
      log.warn({ err }, 'mqtt queue trim failed');
    }
    schedule();
  };

  const publishStatus = (client: BrokerLink['client'], value: 'online' | 'offline') =>
    new Promise<void>((resolve) => client.publish(topics.status, value, { qos: 1, retain: true }, () => resolve()));

  return {
    start: () => {
      outbox.enable(true);
      link = openBrokerLink(
        {
          ...cfg,
          reconnectInitialMs: settings.reconnect_initial_ms,
          reconnectMaxMs: settings.reconnect_max_ms,
          will: { topic: topics.status, payload: 'offline', retain: true },
        },
        log,
      );
      const client = link.client;
      link.onConnect(() => {
        void publishStatus(client, 'online');
        schedule();
      });
      ticker = setInterval(tick, pollMs);
      ticker.unref();
      tick();
    },
    nudge: () => {
      if (!stopping) schedule();
    },
    stop: async () => {
      if (!link) return;
      const client = link.client;
      const deadline = Date.now() + stopGraceMs;
      // Readings flushed just before stop are still sent when the broker is there.
      while (client.connected && Date.now() < deadline && (inflight.size > 0 || outbox.read(cursor, 1).length > 0)) {
        schedule();
        await sleep(10);
      }
      stopping = true;
      if (ticker) clearInterval(ticker);
      if (scheduled) {
        clearTimeout(scheduled as NodeJS.Timeout);
        clearImmediate(scheduled as NodeJS.Immediate);
      }
      flushAcks();
      if (client.connected) await Promise.race([publishStatus(client, 'offline'), sleep(Math.max(100, deadline - Date.now()))]);
      await link.close();
      flushAcks(); // callbacks that failed on close changed nothing; late PUBACKs are kept
      link = undefined;
    },
    status: () => {
      const e = link?.lastError() ?? null;
      return {
        connected: link?.connected() ?? false,
        queueDepth: queueDepth(),
        dropped: dropped.total(),
        skipped: skipped.total(),
        published,
        lastError: e?.message ?? null,
        lastErrorAt: e?.at ?? null,
        lastPublishedAt,
      };
    },
  };
}
