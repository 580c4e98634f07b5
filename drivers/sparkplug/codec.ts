import sparkplugPayload from 'sparkplug-payload';
import type { UMetric, UPayload, UPropertyValue } from 'sparkplug-payload/lib/sparkplugbpayload.js';

// Eclipse Tahu's Sparkplug B encoder (protobufjs with the official sparkplug_b.proto, compiled);
// `get('spBv1.0')` is its only entry point. Shared by the edge node (src/sparkplug) and ingest.
const tahu = sparkplugPayload.get('spBv1.0');
if (!tahu) throw new Error('sparkplug-payload: spBv1.0 encoder missing');
export const encodePayload = tahu.encodePayload;
export const decodePayload = tahu.decodePayload;
export type { UMetric, UPayload, UPropertyValue };

export const NAMESPACE = 'spBv1.0';
export const REBIRTH_METRIC = 'Node Control/Rebirth';

/** A Sparkplug group, edge node, device or host id: one topic level (no / + # or whitespace). */
export const SPARKPLUG_ID = /^[^/+#\s\p{Cc}]{1,64}$/u;

/** The NCMD a host sends to ask an edge node for a full rebirth. */
export const rebirthCommand = (): Uint8Array => encodePayload({ timestamp: Date.now(), metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true }] });
