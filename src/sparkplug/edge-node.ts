import type { Database } from 'better-sqlite3';
import { type BrokerLink, openBrokerLink } from '../../drivers/mqtt/connection.ts';
import type { Quality } from '../core/vocabulary.ts';
import type { FileSettings, MqttConfig, SparkplugConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { createAckBatch } from '../mqtt-publisher/acks.ts';
import { decodePayload, encodePayload, NODE_METRICS, sparkplugTopics, type UMetric, type UPayload, valueMetric } from './payloads.ts';
import { type CurrentValue, createSparkplugQueue, type QueuedReading } from './queue.ts';
import { parseHostState } from './state.ts';

/** What GET /drivers/status and /metrics show about the edge node. */
export interface EdgeNodeStatus {
  connected: boolean;
  /** NBIRTH published on this connection (and the primary host, if any, online). */
  born: boolean;
  bdSeq: number;
  queueDepth: number;
  published: number;
  /** Queued readings not sent: their row was pruned first, or their device was dead. */
  skipped: number;
  /** Queued readings dropped, oldest first, while the queue was over mqtt.queue_max. */
  dropped: number;
  rebirths: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastPublishedAt: number | null;
}

/** The gateway as a Sparkplug B edge node: births, data by alias from the SQLite queue, deaths. */
export interface EdgeNode {
  start(): void;
  /** New rows were committed: send them now rather than at the next tick. */
  nudge(): void;
  /** A machine's status changed: a driver that lost its device is a DDEATH, one that found it a DBIRTH. */
  machineChanged(machineId: number): void;
  stop(): Promise<void>;
  status(): EdgeNodeStatus;
}

export interface EdgeNodeOptions {
  pollMs?: number;
  stopGraceMs?: number;
  ackFlushMs?: number;
  /** Values per DDATA at most. */
  metricsPerMessage?: number;
}

/** At most one rebirth per second on NCMD; more requests in that second are one rebirth at its end. */
const REBIRTH_MIN_INTERVAL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (machineId: number, readingType: string) => `${machineId}\u0000${readingType}`;

/** A device is dead when a driver-fed machine is offline: its driver lost the device (driver-sink's connectivity). */
const isDead = (m: { status: string; source: string } | undefined) => m?.status === 'offline' && m.source !== 'http';

export function createEdgeNode(
  deps: { sqlite: Database; logger: Logger; syncBacklog: () => number },
  mqtt: MqttConfig,
  sp: SparkplugConfig,
  settings: FileSettings['mqtt'],
  opts: EdgeNodeOptions = {},
): EdgeNode {
  const log = deps.logger.child({ module: 'sparkplug' });
  const { pollMs = 100, stopGraceMs = 3000, ackFlushMs = 50, metricsPerMessage = 500 } = opts;
  const queue = createSparkplugQueue(deps.sqlite);
  const topics = sparkplugTopics(sp.groupId, sp.edgeNodeId);
  let link: BrokerLink | undefined;
  let bdSeq = queue.lastBdSeq() ?? 255; // the first connect makes it 0 on a new database
  let seq = 0;
  let born = false;
  let hostOnline = sp.primaryHostId === undefined;
  let hostStateAt = 0;
  let stopping = false;
  /** Aliases of this birth: 1.. node metrics, then every machine's reading types. */
  let aliases = new Map<string, number>();
  let nextAlias = 1;
  /** Devices born on this connection: machine id → name; a dead device is not in it. */
  const devices = new Map<number, string>();
  /** Last quality sent per alias: DDATA carries `Quality` when it is not good or has just become good again. */
  const sentQuality = new Map<number, Quality>();
  /** Queue rows up to this seq were queued before the NBIRTH: they go out as historical. */
  let historicalUpTo = 0;
  let cursor = 0;
  const inflight = new Set<number>();
  let scheduled: NodeJS.Immediate | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let lastNodeFigures = '';
  const counts = { published: 0, skipped: 0, dropped: 0, rebirths: 0, lastPublishedAt: null as number | null };
  let lastError: { message: string; at: number } | null = null;
  let lastBirthAt = 0;
  let rebirthTimer: NodeJS.Timeout | undefined;
  /** Whether each machine's device is dead, read once and forgotten when its status changes. */
  const dead = new Map<number, boolean>();
  const deviceDead = (machineId: number) => {
    let d = dead.get(machineId);
    if (d === undefined) {
      d = isDead(queue.machineState(machineId));
      dead.set(machineId, d);
    }
    return d;
  };

  const nextSeq = () => {
    const s = seq;
    seq = (seq + 1) % 256;
    return s;
  };
  const nodeDeath = (): UPayload => ({ timestamp: Date.now(), metrics: [{ name: NODE_METRICS.bdSeq, type: 'Int64', value: bdSeq }] });
  const live = () => born && hostOnline && link?.client.connected === true && !stopping;

  const send = (topic: string, payload: UPayload, done?: (err?: Error) => void) => {
    const client = link?.client;
    if (!client?.connected) return done?.(new Error('not connected'));
    client.publish(topic, Buffer.from(encodePayload(payload)), { qos: 1 }, (err) => {
      if (!err) {
        counts.published++;
        counts.lastPublishedAt = Date.now();
      }
      done?.(err ?? undefined);
    });
  };

  const acks = createAckBatch({ remove: queue.remove, log, what: 'sparkplug', batch: 1000, flushMs: ackFlushMs, stopping: () => stopping });

  const nodeFigures = () => {
    let backlog = 0;
    try {
      backlog = deps.syncBacklog();
    } catch {
      backlog = -1;
    }
    return { backlog, depth: queue.depth() };
  };

  const deviceBirth = (machineId: number, name: string, values: CurrentValue[]) => {
    const metrics: UMetric[] = values.map((v) => {
      let alias = aliases.get(key(machineId, v.readingType));
      if (alias === undefined) {
        alias = nextAlias++;
        aliases.set(key(machineId, v.readingType), alias);
      }
      sentQuality.set(alias, v.quality);
      return valueMetric({
        name: v.readingType,
        alias,
        value: v.value,
        quality: v.quality,
        reason: null,
        sourceTs: v.sourceTs,
        unit: v.unit,
        withQuality: true,
      });
    });
    devices.set(machineId, name);
    send(topics.device('DBIRTH', name), { timestamp: Date.now(), seq: nextSeq(), metrics });
  };

  /** NBIRTH (seq 0) and a DBIRTH per live machine; then the queue from where it stands, older rows historical. */
  const publishBirths = () => {
    born = false;
    if (!link?.client.connected || !hostOnline) return;
    seq = 0;
    aliases = new Map();
    devices.clear();
    dead.clear();
    sentQuality.clear();
    const figures = nodeFigures();
    lastNodeFigures = JSON.stringify(figures);
    const nodeMetrics: UMetric[] = [
      { name: NODE_METRICS.bdSeq, type: 'Int64', value: bdSeq },
      { name: NODE_METRICS.rebirth, type: 'Boolean', value: false },
      { name: NODE_METRICS.status, type: 'String', value: 'online' },
      { name: NODE_METRICS.syncBacklog, type: 'Int64', value: figures.backlog },
      { name: NODE_METRICS.queueDepth, type: 'Int64', value: figures.depth },
    ].map((m, i) => ({ ...m, alias: i + 1, timestamp: Date.now() }) as UMetric);
    nextAlias = nodeMetrics.length + 1;
    for (const m of nodeMetrics) if (m.name !== undefined) aliases.set(`node\u0000${m.name}`, m.alias as number);
    historicalUpTo = queue.lastIssued();
    lastBirthAt = Date.now();
    send(topics.node('NBIRTH'), { timestamp: Date.now(), seq: nextSeq(), metrics: nodeMetrics });
    const byMachine = new Map<number, CurrentValue[]>();
    for (const v of queue.currentValues()) {
      if (isDead(v)) continue;
      const list = byMachine.get(v.machineId) ?? [];
      list.push(v);
      byMachine.set(v.machineId, list);
    }
    for (const [machineId, values] of byMachine) deviceBirth(machineId, values[0]?.machine ?? String(machineId), values);
    born = true;
    log.info({ bd_seq: bdSeq, devices: byMachine.size }, 'sparkplug births published');
    schedule();
  };

  /**
   * Births, called from MQTT callbacks and timers: a database that fails here (disk, lock) is
   * logged and the node stays unborn (no data goes out) until the next connect or rebirth.
   */
  const birth = () => {
    try {
      publishBirths();
    } catch (err) {
      born = false;
      lastError = { message: `birth failed: ${(err as Error).message}`, at: Date.now() };
      log.error({ err }, 'sparkplug births failed; no data until the next connect or rebirth');
    }
  };

  const schedule = () => {
    if (scheduled || !live()) return;
    scheduled = setImmediate(pumpSafely);
  };
  const pumpSafely = () => {
    try {
      pump();
    } catch (err) {
      scheduled = undefined;
      log.warn({ err }, 'sparkplug publish round failed; the next tick tries again');
    }
  };

  /** Sends one DDATA for one machine's queued rows; a failed publish reads them again later. */
  const sendData = (name: string, rows: Array<{ seq: number; alias: number; r: NonNullable<QueuedReading['reading']> }>) => {
    const metrics = rows.map(({ seq: s, alias, r }) => {
      const withQuality = r.quality !== 'good' || sentQuality.get(alias) !== 'good';
      sentQuality.set(alias, r.quality);
      return valueMetric({ alias, value: r.value, quality: r.quality, reason: r.reason, sourceTs: r.sourceTs, historical: s <= historicalUpTo, withQuality });
    });
    const seqs = rows.map((x) => x.seq);
    for (const s of seqs) inflight.add(s);
    send(topics.device('DDATA', name), { timestamp: Date.now(), seq: nextSeq(), metrics }, (err) => {
      for (const s of seqs) inflight.delete(s);
      if (err) cursor = Math.min(cursor, (seqs[0] ?? 1) - 1);
      else acks.add(seqs);
      schedule();
    });
  };

  function pump(): void {
    scheduled = undefined;
    if (!live()) return;
    const room = settings.inflight - inflight.size;
    if (room <= 0) return; // a PUBACK frees room and schedules the next pump
    let rows: QueuedReading[];
    try {
      rows = queue.read(cursor, Math.min(room * metricsPerMessage, 5000));
    } catch (err) {
      log.warn({ err }, 'sparkplug queue read failed');
      return;
    }
    const batches = new Map<number, Array<{ seq: number; alias: number; r: NonNullable<QueuedReading['reading']> }>>();
    const skip: number[] = [];
    let messages = 0;
    for (const { seq: s, reading: r } of rows) {
      if (inflight.has(s) || acks.has(s)) {
        cursor = s;
        continue;
      }
      if (r === null || deviceDead(r.machineId)) {
        cursor = s;
        skip.push(s);
        continue;
      }
      if (!devices.has(r.machineId) || !aliases.has(key(r.machineId, r.readingType))) {
        // A machine or reading type new since the births: its DBIRTH (every metric, current values) first.
        deviceBirth(
          r.machineId,
          r.machine,
          queue.currentValues().filter((v) => v.machineId === r.machineId),
        );
      }
      const alias = aliases.get(key(r.machineId, r.readingType));
      if (alias === undefined) {
        cursor = s;
        skip.push(s);
        continue;
      }
      let batch = batches.get(r.machineId);
      if (!batch) {
        if (messages >= room) break;
        messages++;
        batch = [];
        batches.set(r.machineId, batch);
      } else if (batch.length >= metricsPerMessage) break;
      batch.push({ seq: s, alias, r });
      cursor = s;
    }
    for (const [machineId, batch] of batches) sendData(devices.get(machineId) ?? String(machineId), batch);
    if (skip.length > 0) {
      counts.skipped += skip.length;
      acks.add(skip);
    }
    if (rows.length > 0 && (batches.size > 0 || skip.length > 0)) schedule();
  }

  const deviceDeath = (machineId: number) => {
    const name = devices.get(machineId);
    if (name === undefined) return;
    devices.delete(machineId);
    send(topics.device('DDEATH', name), { timestamp: Date.now(), seq: nextSeq(), metrics: [] });
    log.info({ machine: name }, 'sparkplug device death: its driver lost the device');
  };

  /** Node metrics that changed since the birth or the last NDATA. */
  const nodeData = () => {
    if (!live()) return;
    const figures = nodeFigures();
    const text = JSON.stringify(figures);
    if (text === lastNodeFigures) return;
    lastNodeFigures = text;
    const ts = Date.now();
    send(topics.node('NDATA'), {
      timestamp: ts,
      seq: nextSeq(),
      metrics: [
        { alias: aliases.get(`node\u0000${NODE_METRICS.syncBacklog}`), type: 'Int64', value: figures.backlog, timestamp: ts },
        { alias: aliases.get(`node\u0000${NODE_METRICS.queueDepth}`), type: 'Int64', value: figures.depth, timestamp: ts },
      ],
    });
  };

  const onCommand = (payload: Buffer) => {
    let decoded: UPayload;
    try {
      decoded = decodePayload(new Uint8Array(payload));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'sparkplug NCMD is not a Sparkplug B payload; ignored');
      return;
    }
    const rebirthAlias = aliases.get(`node\u0000${NODE_METRICS.rebirth}`);
    const rebirth = decoded.metrics?.some(
      (m) => (m.name === NODE_METRICS.rebirth || (m.alias !== undefined && Number(m.alias) === rebirthAlias)) && m.value === true,
    );
    if (!rebirth) return;
    counts.rebirths++;
    log.info({ bd_seq: bdSeq }, 'sparkplug rebirth requested (NCMD)');
    // A host (or anyone on the broker) repeating NCMD cannot make every birth go out many times a
    // second: requests within REBIRTH_MIN_INTERVAL_MS of the last birth become one birth at its end.
    const wait = lastBirthAt + REBIRTH_MIN_INTERVAL_MS - Date.now();
    if (wait <= 0) return birth();
    rebirthTimer ??= setTimeout(() => {
      rebirthTimer = undefined;
      if (!stopping) birth();
    }, wait);
  };

  const onHostState = (payload: Buffer) => {
    const state = parseHostState(payload);
    if (!state || state.timestamp < hostStateAt) return;
    hostStateAt = state.timestamp;
    if (state.online === hostOnline) return;
    hostOnline = state.online;
    log.info({ host: sp.primaryHostId, online: state.online }, 'sparkplug primary host state');
    // Offline: data waits in the queue. Back: a fresh birth, then the backlog as historical values.
    if (state.online) birth();
    else born = false;
  };

  const tick = () => {
    try {
      const cap = settings.queue_max;
      const dropped = queue.trim(cap);
      if (dropped > 0) {
        counts.dropped += dropped;
        log.warn({ dropped, dropped_total: counts.dropped, queue_max: cap }, 'sparkplug queue over its cap: oldest values dropped');
      }
      nodeData();
    } catch (err) {
      log.warn({ err }, 'sparkplug tick failed');
    }
    schedule();
  };

  return {
    start: () => {
      queue.enable(true);
      const opened = openBrokerLink(
        {
          ...mqtt,
          clientId: `${mqtt.clientId}-sparkplug`,
          clean: true,
          reconnectInitialMs: settings.reconnect_initial_ms,
          reconnectMaxMs: settings.reconnect_max_ms,
          // Before every connect attempt: the next bdSeq, kept so a restart continues it.
          nextWill: () => {
            bdSeq = (bdSeq + 1) % 256;
            try {
              queue.saveBdSeq(bdSeq);
            } catch (err) {
              // The NDEATH still carries the right bdSeq; only a restart could repeat it.
              log.warn({ err, bd_seq: bdSeq }, 'sparkplug bdSeq not saved');
            }
            return { topic: topics.node('NDEATH'), payload: encodePayload(nodeDeath()), retain: false };
          },
        },
        log,
      );
      link = opened;
      const client = opened.client;
      client.on('error', (err) => {
        lastError = { message: err.message, at: Date.now() };
      });
      client.on('close', () => {
        born = false;
        if (sp.primaryHostId !== undefined) hostOnline = false; // the retained STATE comes again with the subscription
      });
      client.on('message', (topic, payload) => {
        try {
          if (topic === topics.node('NCMD')) onCommand(payload);
          else if (sp.primaryHostId !== undefined && topic === topics.state(sp.primaryHostId)) onHostState(payload);
        } catch (err) {
          log.error({ err, topic: topic.slice(0, 256) }, 'sparkplug message handling failed');
        }
      });
      // Clean session: subscribe on every connect, before the NBIRTH (Sparkplug: NCMD first, then STATE).
      opened.onConnect(() => {
        cursor = 0;
        const filters = [topics.node('NCMD'), ...(sp.primaryHostId === undefined ? [] : [topics.state(sp.primaryHostId)])];
        client.subscribe(filters, { qos: 1 }, (err) => {
          if (err) {
            if (client.connected) log.warn({ err: err.message }, 'sparkplug subscribe failed');
            return;
          }
          if (hostOnline) birth();
        });
      });
      ticker = setInterval(tick, pollMs);
      ticker.unref();
    },
    nudge: () => schedule(),
    machineChanged: (machineId) => {
      dead.delete(machineId);
      if (!live()) return;
      try {
        if (deviceDead(machineId)) deviceDeath(machineId);
        else if (!devices.has(machineId)) {
          const values = queue.currentValues().filter((v) => v.machineId === machineId);
          if (values[0]) deviceBirth(machineId, values[0].machine, values);
        }
      } catch (err) {
        log.warn({ err, machine_id: machineId }, 'sparkplug device state change failed');
      }
    },
    stop: async () => {
      if (!link) return;
      const client = link.client;
      const deadline = Date.now() + stopGraceMs;
      while (live() && Date.now() < deadline && (inflight.size > 0 || queue.read(cursor, 1).length > 0)) {
        schedule();
        await sleep(10);
      }
      stopping = true;
      if (ticker) clearInterval(ticker);
      if (rebirthTimer) clearTimeout(rebirthTimer);
      if (scheduled) clearImmediate(scheduled);
      acks.flush();
      // A clean disconnect sends no will: the NDEATH goes out by hand, with this connection's bdSeq.
      if (client.connected) {
        await Promise.race([
          new Promise<void>((resolve) => send(topics.node('NDEATH'), nodeDeath(), () => resolve())),
          sleep(Math.max(100, deadline - Date.now())),
        ]);
      }
      await link.close();
      acks.flush();
      link = undefined;
      born = false;
    },
    status: () => {
      let depth = -1;
      try {
        depth = queue.depth();
      } catch {
        // database closed (after stop)
      }
      const e = lastError;
      return {
        connected: link?.connected() ?? false,
        born: live(),
        bdSeq,
        queueDepth: depth,
        published: counts.published,
        skipped: counts.skipped,
        dropped: counts.dropped,
        rebirths: counts.rebirths,
        lastError: e?.message ?? null,
        lastErrorAt: e?.at ?? null,
        lastPublishedAt: counts.lastPublishedAt,
      };
    },
  };
}
