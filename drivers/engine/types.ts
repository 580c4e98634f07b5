/** Quality of a value; the readings table, the API and every driver use this one list. */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;
export type Quality = (typeof QUALITIES)[number];

/** What a machine is doing; status maps in device files and `machines.status` use this one list. */
export const MACHINE_STATUSES = ['running', 'idle', 'down', 'maintenance', 'offline'] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

/** One tag's value as a driver produced it. */
export interface Sample {
  tag: string;
  value: number | string | null;
  quality: Quality;
  reason: string | null;
  /** Device or server time of the value, epoch ms. */
  sourceTs: number;
}

/** Where drivers hand their samples: the gateway adapts this to the readings writer. */
export type SampleSink = (device: string, samples: Sample[]) => void;

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

/** What every driver is given by whoever starts it. */
export interface DriverDeps {
  sink: SampleSink;
  logger: DriverLogger;
  /** Folder for certificates: OPC UA's PKI (own certificate, trusted and rejected server certificates). */
  pkiDir: string;
  now?: () => number;
  /** Called when the device starts or stops answering (machines without a status map follow it). */
  onConnectedChange?: (connected: boolean) => void;
}
