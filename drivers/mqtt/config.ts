import { z } from 'zod';
import { deviceCommon, type TagBase } from '../engine/device-schema.ts';

/** A topic filter: levels split by `/`, `+` a whole level, `#` only as the last level. */
const topicFilter = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (f) => f.split('/').every((level, i, all) => (!level.includes('+') || level === '+') && (!level.includes('#') || (level === '#' && i === all.length - 1))),
    { message: 'must be an MQTT topic filter (+ a whole level, # only as the last level)' },
  );

/** A dotted path into the JSON payload (`data.temp`, `values.0`); empty: the payload itself. */
const jsonPath = z.string().max(256);

/** Where a name comes from: a fixed value, a topic level (0-based), or a payload field. */
const nameSource = z.union([
  z.string().min(1).max(64),
  z.object({ segment: z.number().int().min(0).max(63) }).strict(),
  z.object({ field: jsonPath.min(1) }).strict(),
]);

const subscription = z
  .object({
    topic: topicFilter,
    machine: nameSource,
    reading_type: nameSource,
    value_path: jsonPath.default(''),
    /** ISO 8601 with offset, or epoch milliseconds; absent: the time the message arrived. */
    timestamp_path: jsonPath.min(1).optional(),
    unit: z.string().min(1).max(32).optional(),
  })
  .strict();

/** The keys of a device that is a client of a broker (MQTT ingest, Sparkplug ingest). */
export const brokerDeviceKeys = {
  name: deviceCommon.name,
  /** The broker; default MQTT_URL (and its credentials and TLS files). */
  url: z
    .string()
    .regex(/^mqtts?:\/\/[^/\s]+\/?$/, { message: 'must be an mqtt:// or mqtts:// URL' })
    .optional(),
  /** Default `<MQTT_CLIENT_ID>-<name>`: stable, so the broker keeps the session and its QoS 1 subscriptions. */
  client_id: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
  username: z.string().max(256).optional(),
  password: z.string().max(256).optional(),
  max_payload_bytes: z
    .number()
    .int()
    .min(16)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** A bad payload is logged at most once per topic per this many seconds (every one is counted). */
  log_interval_s: z.number().int().min(1).max(86_400).default(60),
  reconnect: deviceCommon.reconnect,
};

/**
 * One MQTT ingest device of the devices file: a broker connection and the subscriptions that turn
 * payloads into readings. It has no fixed tags: each message names its machine and reading type.
 */
export const mqttDeviceSchema = z
  .object({
    protocol: z.literal('mqtt'),
    ...brokerDeviceKeys,
    subscriptions: z.array(subscription).min(1),
  })
  .strict()
  .transform((d) => ({ ...d, tags: [] as TagBase[] }));

export type MqttDevice = z.output<typeof mqttDeviceSchema>;
export type Subscription = z.infer<typeof subscription>;
export type NameSource = z.infer<typeof nameSource>;
