export type Quality = 'good' | 'uncertain' | 'bad';

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

/** What a driver reports about itself for GET /drivers/status. */
export interface DriverState {
  device: string;
  protocol: string;
  connected: boolean;
  lastPollAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  pollDurationMs: number | null;
  tagQuality: Map<string, Quality>;
}

/** A long-lived field driver. */
export interface Driver {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  state(): DriverState;
}

/** Minimal logger shape drivers need (pino-compatible). */
export interface DriverLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: object): DriverLogger;
}

/** A driver's state before its first connection: every tag uncertain (not read yet). */
export function initialDriverState(device: string, protocol: string, tags: Array<{ name: string }>): DriverState {
  return {
    device,
    protocol,
    connected: false,
    lastPollAt: null,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
    pollDurationMs: null,
    tagQuality: new Map(tags.map((t) => [t.name, 'uncertain' as Quality])),
  };
}
