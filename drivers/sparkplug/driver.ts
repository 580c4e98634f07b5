import { createDeviceState } from '../engine/device-state.ts';
import type { Driver, DriverDeps, Sample } from '../engine/types.ts';
import type { Quality } from '../../src/core/vocabulary.ts';
import { type BrokerLink, handleMessages, openBrokerLink } from '../mqtt/connection.ts';
import { ingestBroker } from '../mqtt/driver.ts';
import { decodePayload, NAMESPACE, rebirthCommand, type UMetric, type UPayload } from './codec.ts';
import { type SparkplugDevice, tagName } from './config.ts';

/** Why a message was dropped (counted in gateway_sparkplug_ingest_rejected_total). */
type Reject = 'too_large' | 'malformed_payload' | 'unknown_alias' | 'not_born' | 'stale_death' | 'bad_timestamp';

/** 2000-01-01T00:00:00Z: an earlier source time is a clock never set (or seconds sent as ms). */
const EARLIEST_TS = 946_684_800_000;
/** How far ahead of the gateway's clock a source time may lie (clock skew), as for the HTTP API. */
const MAX_AHEAD_MS = 5 * 60_000;

/** What the host knows of one edge node since its last NBIRTH. */
interface NodeSession {
  born: boolean;
  bdSeq: number | undefined;
  lastSeq: number;
  /** device → alias → metric name, from its DBIRTH. */
  aliases: Map<string, Map<number, string>>;
  lastRebirthAt: number;
}

/** Sparkplug's Quality property (OPC DA codes): 192 and up good, 64–191 uncertain, below 64 bad. */
function qualityOf(m: UMetric): { quality: Quality; reason: string | null } {
  const q = m.properties?.Quality?.value;
  const code = typeof q === 'number' ? q : 192;
  if (code >= 192) return { quality: 'good', reason: null };
  const reason = m.properties?.['Quality Reason']?.value;
  const text = typeof reason === 'string' ? reason.slice(0, 256) : `Sparkplug quality ${code}`;
  return { quality: code >= 64 ? 'uncertain' : 'bad', reason: text };
}

/** A number for a reading: numbers and booleans; Long (64-bit) values as numbers; anything else none. */
function numberOf(v: unknown): number | null | undefined {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof v.toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return undefined;
}

/**
 * A Sparkplug B host application for the configured edge nodes of one group: births give each
 * device's aliases, DDATA values are stored as readings of the mapped machines, DDEATH and NDEATH
 * mark the device's tags bad. A seq gap, data for an alias without a birth, or data before any
 * birth asks the edge node for a rebirth (NCMD), at most once per rebirth_interval_s. Garbage never
 * stops it: every dropped message is counted and logged at most once per topic per interval.
 */
export function createSparkplugIngestDriver(device: SparkplugDevice, deps: DriverDeps): Driver {
  const log = deps.logger.child({ module: 'sparkplug-ingest', device: device.name });
  const now = deps.now ?? Date.now;
  // A host application starts clean and asks every edge node for a rebirth (on connect, below).
  const broker = { ...ingestBroker(device, deps.broker), clean: true };
  const group = device.group_id;
  const tags = device.tags.map((t) => t.name);
  const state = createDeviceState({
    device: device.name,
    protocol: 'sparkplug',
    tags,
    sink: deps.sink,
    log,
    now,
    // Deaths say when values stop being current; no age rule on top.
    staleAfterMs: () => Number.POSITIVE_INFINITY,
    checkEveryMs: 1000,
    onConnectedChange: deps.onConnectedChange,
  });
  /** `<edge node>/<device>` → metric names this gateway stores. */
  const mapped = new Map<string, Set<string>>();
  for (const m of device.devices) mapped.set(`${m.edge_node}/${m.device}`, new Set(Object.keys(m.metrics)));
  const nodes = new Map<string, NodeSession>();
  for (const m of device.devices) nodes.set(m.edge_node, { born: false, bdSeq: undefined, lastSeq: -1, aliases: new Map(), lastRebirthAt: 0 });
  const tagsOf = (node: string, dev?: string) =>
    device.devices
      .filter((m) => m.edge_node === node && (dev === undefined || m.device === dev))
      .flatMap((m) => Object.keys(m.metrics).map((metric) => tagName(node, m.device, metric)));
  const loggedAt = new Map<string, number>();
  let link: BrokerLink | undefined;

  const drop = (topic: string, reason: Reject, detail: string) => {
    deps.onRejected?.(reason);
    state.received(false);
    state.fail(`${reason}: ${detail}`, { logged: true });
    const t = now();
    if (t - (loggedAt.get(topic) ?? Number.NEGATIVE_INFINITY) < device.log_interval_s * 1000) return;
    if (loggedAt.size >= 10_000) loggedAt.clear();
    loggedAt.set(topic, t);
    log.warn({ topic: topic.slice(0, 256), reason, detail }, 'sparkplug message dropped');
  };

  const requestRebirth = (node: string, why: string) => {
    const s = nodes.get(node);
    const client = link?.client;
    if (!s || !client?.connected) return;
    const t = now();
    if (t - s.lastRebirthAt < device.rebirth_interval_s * 1000) return;
    s.lastRebirthAt = t;
    log.info({ edge_node: node, why }, 'sparkplug rebirth requested');
    client.publish(`${NAMESPACE}/${group}/NCMD/${node}`, Buffer.from(rebirthCommand()), { qos: 0 });
  };

  /** Values of mapped metrics as samples; names come from the birth's aliases. */
  const samplesOf = (
    node: string,
    dev: string,
    metrics: UMetric[],
    names: Map<number, string>,
    payloadTs: number,
  ): Sample[] | { reason: 'unknown_alias' | 'bad_timestamp'; detail: string } => {
    const wanted = mapped.get(`${node}/${dev}`);
    const latest = now() + MAX_AHEAD_MS;
    const out: Sample[] = [];
    for (const m of metrics) {
      const name = m.name ?? (m.alias === undefined || m.alias === null ? undefined : names.get(Number(m.alias)));
      if (name === undefined) return { reason: 'unknown_alias', detail: `an alias of ${dev} has no birth` };
      if (!wanted?.has(name)) continue;
      const value = numberOf(m.value);
      if (value === undefined) continue; // strings, datasets, templates: not a reading
      const ts = numberOf(m.timestamp) ?? payloadTs;
      // A time no clock could mean would stay the machine's latest value (or break every page showing it).
      if (!(ts >= EARLIEST_TS && ts <= latest))
        return { reason: 'bad_timestamp', detail: `${name}: timestamp ${ts} is not between 2000 and 5 minutes from now` };
      const q = value === null ? { quality: 'bad' as const, reason: qualityOf(m).reason ?? 'no value' } : qualityOf(m);
      out.push({ tag: tagName(node, dev, name), value, quality: q.quality, reason: q.reason, sourceTs: ts });
    }
    return out;
  };

  const store = (topic: string, samples: Sample[]) => {
    const refused = state.emit(samples);
    if (refused) {
      if (refused.reason === 'not_stored') deps.onRejected?.(refused.reason);
      state.fail(`${refused.reason}: ${refused.detail}`);
      log.warn({ topic: topic.slice(0, 256), reason: refused.reason }, 'sparkplug values not stored');
      return;
    }
    state.received(samples.length > 0);
  };

  const onMessage = (topic: string, payload: Buffer) => {
    const [ns, g, type, node, dev] = topic.split('/');
    const s = node === undefined ? undefined : nodes.get(node);
    if (ns !== NAMESPACE || g !== group || !s || node === undefined || type === undefined) return;
    if (payload.length > device.max_payload_bytes) return drop(topic, 'too_large', `${payload.length} bytes (limit ${device.max_payload_bytes})`);
    let p: UPayload;
    try {
      p = decodePayload(new Uint8Array(payload));
    } catch {
      return drop(topic, 'malformed_payload', 'not a Sparkplug B payload');
    }
    const seq = numberOf(p.seq);
    const payloadTs = numberOf(p.timestamp) ?? now();
    if (type === 'NDEATH') {
      const bd = numberOf(p.metrics?.find((m) => m.name === 'bdSeq')?.value);
      // A will from an older session arrives after the node came back: not this session's death.
      if (s.born && bd !== undefined && bd !== null && s.bdSeq !== undefined && bd !== s.bdSeq)
        return drop(topic, 'stale_death', `bdSeq ${bd}, session ${s.bdSeq}`);
      s.born = false;
      state.markBad(tagsOf(node), 'edge node death (NDEATH)');
      return;
    }
    if (type === 'NBIRTH') {
      s.born = true;
      s.lastSeq = seq ?? 0;
      s.aliases = new Map();
      const bd = numberOf(p.metrics?.find((m) => m.name === 'bdSeq')?.value);
      s.bdSeq = bd ?? undefined;
      return;
    }
    if (!s.born) {
      requestRebirth(node, `${type} before any NBIRTH`);
      return drop(topic, 'not_born', `${type} before the edge node's NBIRTH`);
    }
    if (seq !== undefined && seq !== null) {
      if (seq !== (s.lastSeq + 1) % 256) requestRebirth(node, `seq gap: ${s.lastSeq} → ${seq}`);
      s.lastSeq = seq;
    }
    if (dev === undefined) return; // NDATA: node metrics are not mapped
    // A device no mapping names: no alias table (each would be kept forever), no rebirth, no count.
    if (!mapped.has(`${node}/${dev}`)) return;
    if (type === 'DDEATH') {
      s.aliases.delete(dev);
      state.markBad(tagsOf(node, dev), 'device death (DDEATH)');
      return;
    }
    const metrics = p.metrics ?? [];
    if (type === 'DBIRTH') {
      const names = new Map<number, string>();
      for (const m of metrics) {
        const alias = numberOf(m.alias);
        if (m.name && alias !== undefined && alias !== null) names.set(alias, m.name);
      }
      s.aliases.set(dev, names);
    } else if (type !== 'DDATA') return;
    const names = s.aliases.get(dev);
    if (!names) {
      requestRebirth(node, `DDATA of ${dev} without its DBIRTH`);
      return drop(topic, 'unknown_alias', `no DBIRTH for device ${dev}`);
    }
    const samples = samplesOf(node, dev, metrics, names, payloadTs);
    if (!Array.isArray(samples)) {
      if (samples.reason === 'unknown_alias') requestRebirth(node, `DDATA of ${dev} with an alias its DBIRTH did not give`);
      return drop(topic, samples.reason, samples.detail);
    }
    store(topic, samples);
  };

  const filters = [...nodes.keys()].flatMap((node) => [
    `${NAMESPACE}/${group}/NBIRTH/${node}`,
    `${NAMESPACE}/${group}/NDEATH/${node}`,
    `${NAMESPACE}/${group}/NDATA/${node}`,
    `${NAMESPACE}/${group}/DBIRTH/${node}/+`,
    `${NAMESPACE}/${group}/DDATA/${node}/+`,
    `${NAMESPACE}/${group}/DDEATH/${node}/+`,
  ]);

  return {
    name: device.name,
    start: () => {
      link = openBrokerLink(broker, log);
      const client = link.client;
      handleMessages(client, log, 'sparkplug', onMessage);
      client.on('error', (err) => state.fail(`broker: ${err.message}`, { logged: true }));
      client.on('close', () => {
        state.setConnected(false);
        for (const s of nodes.values()) s.born = false;
        state.markBad(tags, 'not connected');
      });
      link.onConnect(() => {
        client.subscribe(filters, { qos: 1 }, (err) => {
          if (err) {
            if (client.connected) state.fail(`subscribe refused: ${err.message}`);
            return;
          }
          state.setConnected(true);
          // Clean session: what was missed is unknown, so every edge node is asked to be born again.
          for (const node of nodes.keys()) {
            const s = nodes.get(node);
            if (s) s.lastRebirthAt = 0;
            requestRebirth(node, 'host connected');
          }
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
