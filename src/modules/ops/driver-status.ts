import type { DeviceStatus as DriverDeviceStatus } from '../../../drivers/engine/types.ts';

/** A device's figures for GET /drivers/status; the MQTT publisher adds its queue depth, drops and skips. */
export type DeviceStatus = DriverDeviceStatus & { queue_depth?: number; dropped?: number; skipped?: number };

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
