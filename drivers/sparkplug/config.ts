import { z } from 'zod';
import type { TagBase } from '../engine/device-schema.ts';
import { brokerDeviceKeys } from '../mqtt/config.ts';
import { SPARKPLUG_ID } from './codec.ts';

const sparkplugId = z.string().regex(SPARKPLUG_ID, { message: 'must be 1–64 characters without / + # or whitespace' });
const readingType = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 _ . : -' });

/** A metric of a Sparkplug device mapped to a reading type of a machine. */
const metricTarget = z.union([readingType, z.object({ reading_type: readingType, unit: z.string().min(1).max(32).optional() }).strict()]);

/** One Sparkplug device (`<edge node>/<device>`) that feeds one machine. */
const deviceMapping = z
  .object({
    edge_node: sparkplugId,
    device: sparkplugId,
    machine: z.string().min(1).max(64),
    /** Metric name (as in its DBIRTH) → reading type; metrics not listed are not stored. */
    metrics: z.record(z.string().min(1).max(256), metricTarget).refine((m) => Object.keys(m).length > 0, { message: 'must map at least one metric' }),
  })
  .strict();

/**
 * A Sparkplug B ingest device of the devices file: the gateway acts as a host application for the
 * edge nodes named in `devices` of one group, on a broker, and stores their metrics as readings.
 */
export const sparkplugDeviceSchema = z
  .object({
    protocol: z.literal('sparkplug'),
    ...brokerDeviceKeys,
    group_id: sparkplugId,
    /** At most one rebirth request (NCMD) per edge node per this many seconds. */
    rebirth_interval_s: z.number().int().min(1).max(3600).default(10),
    devices: z.array(deviceMapping).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    for (const [i, m] of d.devices.entries()) {
      const id = `${m.edge_node}/${m.device}`;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'device'], message: `${id} is mapped twice` });
      seen.add(id);
    }
  })
  .transform((d) => ({
    ...d,
    // One tag per mapped metric, named <edge node>/<device>/<metric>: the gateway's checks
    // (declared machines, one source per series) and /drivers/status see them like polled tags.
    tags: d.devices.flatMap((m) =>
      Object.entries(m.metrics).map(
        ([metric, t]): TagBase => ({
          name: tagName(m.edge_node, m.device, metric),
          machine: m.machine,
          reading_type: typeof t === 'string' ? t : t.reading_type,
          unit: typeof t === 'string' ? undefined : t.unit,
          scale: 1,
          offset: 0,
          deadband: 0,
        }),
      ),
    ),
  }));

export const tagName = (edgeNode: string, device: string, metric: string) => `${edgeNode}/${device}/${metric}`;

export type SparkplugDevice = z.output<typeof sparkplugDeviceSchema>;
