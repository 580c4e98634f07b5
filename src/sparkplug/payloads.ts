import { decodePayload, encodePayload, NAMESPACE, REBIRTH_METRIC, type UMetric, type UPayload, type UPropertyValue } from '../../drivers/sparkplug/codec.ts';
import { topicLevel } from '../mqtt-publisher/topics.ts';
import type { Quality } from '../core/vocabulary.ts';

export { decodePayload, encodePayload, NAMESPACE };
export type { UMetric, UPayload };
export type NodeMessage = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD' | 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

/** The Sparkplug topic namespace of one edge node (`spBv1.0/<group>/<type>/<node>[/<device>]`). */
export function sparkplugTopics(groupId: string, edgeNodeId: string) {
  return {
    node: (type: NodeMessage) => `${NAMESPACE}/${groupId}/${type}/${edgeNodeId}`,
    /** A machine is a device; its id is the machine name with / + # and control characters as `_`. */
    device: (type: NodeMessage, machine: string) => `${NAMESPACE}/${groupId}/${type}/${edgeNodeId}/${topicLevel(machine)}`,
    state: (hostId: string) => `${NAMESPACE}/STATE/${hostId}`,
  };
}

/** Node metrics every NBIRTH carries; names are what a host shows as tags. */
export const NODE_METRICS = {
  rebirth: REBIRTH_METRIC,
  bdSeq: 'bdSeq',
  status: 'Gateway/Status',
  syncBacklog: 'Gateway/Sync Backlog',
  queueDepth: 'Gateway/Queue Depth',
} as const;

/**
 * Quality travels as the metric property `Quality` (OPC DA codes, as Ignition reads them: 192 good,
 * 64 uncertain — a stale value is uncertain —, 0 bad) and, when not good, `Quality Reason`.
 */
export const QUALITY_CODES: Record<Quality, number> = { good: 192, uncertain: 64, bad: 0 };

export function qualityProperties(quality: Quality, reason: string | null): Record<string, UPropertyValue> {
  const props: Record<string, UPropertyValue> = { Quality: { type: 'Int32', value: QUALITY_CODES[quality] } };
  if (quality !== 'good' && reason) props['Quality Reason'] = { type: 'String', value: reason.slice(0, 256) };
  return props;
}

/** One value of a machine's reading type as a metric: Double, null when there is none. */
export function valueMetric(m: {
  name?: string;
  alias: number;
  value: number | null;
  quality: Quality;
  reason: string | null;
  sourceTs: number;
  unit?: string | null;
  historical?: boolean;
  withQuality: boolean;
}): UMetric {
  const metric: UMetric = { alias: m.alias, type: 'Double', value: m.value, timestamp: m.sourceTs };
  if (m.name !== undefined) metric.name = m.name;
  if (m.historical) metric.isHistorical = true;
  if (m.withQuality || m.unit) {
    const props = m.withQuality ? qualityProperties(m.quality, m.reason) : {};
    if (m.unit) props['Engineering Units'] = { type: 'String', value: m.unit };
    metric.properties = props;
  }
  return metric;
}
