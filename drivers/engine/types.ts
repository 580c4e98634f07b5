import type { Quality } from '../../src/core/vocabulary.ts';

/** Where a pushed value goes when its message names it (MQTT: a topic level or payload field). */
export interface SampleTarget {
  /** Machine name, resolved to a machine by the gateway. */
  machine: string;
  readingType: string;
  unit: string | null;
}

/** One tag's value as a driver produced it. */
export interface Sample {
  tag: string;
  value: number | string | null;
  quality: Quality;
  reason: string | null;
  /** Device or server time of the value, epoch ms. */
  sourceTs: number;
  /** Push protocols: the series the message named. Absent: the tag's machine, reading type and unit from the device file. */
  target?: SampleTarget;
}

/** Why the gateway refused a batch of samples whole: none of it is stored. */
export interface SinkRefusal {
  /** `not_stored`: the gateway could not take the batch (its database failed); the device's tags keep their state. */
  reason: 'unknown_machine' | 'not_stored';
  detail: string;
}

/**
 * Where drivers hand their samples: the gateway adapts this to the readings writer. One call is
 * one unit (a poll, a message): the answer is a refusal when any sample names a machine the
 * gateway does not have, and then nothing of the batch is stored.
 */
export type SampleSink = (device: string, samples: Sample[]) => SinkRefusal | undefined;

/** What GET /drivers/status shows for one device (times are epoch ms; the HTTP layer formats them). */
export interface DeviceStatus {
  device: string;
  protocol: string;
  connected: boolean;
  last_poll_at: number | null;
  last_success_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  poll_duration_ms: number | null;
  tags_total: number;
  tags_good: number;
  tags_bad: number;
  tags_uncertain: number;
}

/** A long-lived field driver. */
export interface Driver {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  status(): DeviceStatus;
}

/** Minimal logger shape drivers need (pino-compatible). */
export interface DriverLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: object): DriverLogger;
}

/** The gateway's own MQTT broker (MQTT_URL with its credentials and TLS files), the default for devices on a broker. */
export interface BrokerDefaults {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** What the gateway offers devices beyond the sink; known when the device file is read. */
export interface DriverHost {
  /** Undefined when MQTT_URL is not set. */
  broker?: BrokerDefaults | undefined;
}

/** What every driver is given by whoever starts it. */
export interface DriverDeps extends DriverHost {
  sink: SampleSink;
  logger: DriverLogger;
  /** Folder for certificates: OPC UA's PKI (own certificate, trusted and rejected server certificates). */
  pkiDir: string;
  now?: () => number;
  /** Called when the device starts or stops answering (machines without a status map follow it). */
  onConnectedChange?: (connected: boolean) => void;
  /** Push protocols: a message was dropped (counted per device and reason; the driver logs it). */
  onRejected?: (reason: string) => void;
}
