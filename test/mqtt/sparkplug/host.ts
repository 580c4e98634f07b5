import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import protobuf from 'protobufjs';
import { uniqueId } from '../../helpers/mqtt-broker.ts';

// The test's own Sparkplug B codec: protobufjs and the official sparkplug_b.proto, never the
// product's encoder (Eclipse Tahu's sparkplug-payload), so a fault in one cannot hide in both.
const root = protobuf.loadSync(path.join(import.meta.dirname, 'sparkplug_b.proto'));
const Payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');

/** Datatype numbers of sparkplug_b.proto used here. */
export const DATATYPE = { Int32: 3, Int64: 4, Double: 10, Boolean: 11, String: 12 } as const;

export interface HostPropertyValue {
  type?: number;
  intValue?: number;
  longValue?: number;
  doubleValue?: number;
  stringValue?: string;
  booleanValue?: boolean;
}

export interface HostMetric {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: number;
  isHistorical?: boolean;
  isNull?: boolean;
  properties?: { keys?: string[]; values?: HostPropertyValue[] };
  intValue?: number;
  longValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface HostPayload {
  timestamp?: number;
  seq?: number;
  metrics?: HostMetric[];
}

export function decode(buf: Uint8Array): HostPayload {
  return Payload.toObject(Payload.decode(buf), { longs: Number, defaults: false }) as HostPayload;
}

export function encode(p: HostPayload): Buffer {
  const err = Payload.verify(p);
  if (err) throw new Error(`test payload: ${err}`);
  return Buffer.from(Payload.encode(Payload.fromObject(p)).finish());
}

/** A metric's value, whichever oneof field holds it. */
export function metricValue(m: HostMetric): number | boolean | string | null {
  if (m.isNull) return null;
  return m.doubleValue ?? m.longValue ?? m.intValue ?? m.booleanValue ?? m.stringValue ?? null;
}

/** A metric's properties as a plain record of values. */
export function propertiesOf(m: HostMetric): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = m.properties?.keys ?? [];
  for (const [i, k] of keys.entries()) {
    const v = m.properties?.values?.[i];
    out[k] = v?.intValue ?? v?.longValue ?? v?.doubleValue ?? v?.stringValue ?? v?.booleanValue;
  }
  return out;
}

export interface HostMessage {
  topic: string;
  /** NBIRTH, DDATA, ... */
  type: string;
  node: string;
  device: string | undefined;
  payload: HostPayload;
  at: number;
}

/**
 * A Sparkplug host application for tests: records every message of a group, decoded, and can send
 * NCMD rebirths and a STATE. Decoding failures are recorded as such (`type: 'UNDECODABLE'`).
 */
export async function sparkplugHost(url: string, groupId: string, opts: { hostId?: string } = {}) {
  const client: MqttClient = await connectAsync(url, { clientId: uniqueId('sp-host'), clean: true, protocolVersion: 4, reconnectPeriod: 200 });
  const messages: HostMessage[] = [];
  client.on('message', (topic, payload) => {
    const [, , type = '', node = '', device] = topic.split('/');
    if (type === 'NCMD' || type === 'DCMD') return; // the host's own commands
    let decoded: HostPayload;
    try {
      decoded = decode(payload);
    } catch {
      messages.push({ topic, type: 'UNDECODABLE', node, device, payload: {}, at: Date.now() });
      return;
    }
    messages.push({ topic, type, node, device, payload: decoded, at: Date.now() });
  });
  await client.subscribeAsync(`spBv1.0/${groupId}/#`, { qos: 1 });
  const stateTopic = opts.hostId ? `spBv1.0/STATE/${opts.hostId}` : undefined;
  return {
    client,
    messages,
    of: (type: string, node?: string) => messages.filter((m) => m.type === type && (node === undefined || m.node === node)),
    rebirth: (node: string) =>
      client.publishAsync(
        `spBv1.0/${groupId}/NCMD/${node}`,
        encode({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', datatype: DATATYPE.Boolean, booleanValue: true }] }),
        { qos: 0 },
      ),
    /** Sparkplug 3.0 STATE, retained, as a primary host publishes it. */
    state: (online: boolean) => {
      if (!stateTopic) throw new Error('no hostId');
      return client.publishAsync(stateTopic, JSON.stringify({ online, timestamp: Date.now() }), { qos: 1, retain: true });
    },
    close: async () => {
      if (stateTopic) await client.publishAsync(stateTopic, '', { qos: 1, retain: true });
      await client.endAsync();
    },
  };
}
