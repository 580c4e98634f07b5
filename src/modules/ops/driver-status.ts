/** Per-device figures shown by GET /drivers/status. */
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

/** Whatever runs the field drivers reports through this; empty when no devices are configured. */
export interface DriverStatusSource {
  status(): DeviceStatus[];
  /** Adds a device's status reader (called once per driver at start-up). */
  add(reader: () => DeviceStatus): void;
  clear(): void;
}

export function createDriverRegistry(): DriverStatusSource {
  let readers: Array<() => DeviceStatus> = [];
  return {
    status: () => readers.map((r) => r()),
    add: (reader) => {
      readers.push(reader);
    },
    clear: () => {
      readers = [];
    },
  };
}
