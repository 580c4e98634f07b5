import type { DeviceStatus, DriverStatusSource } from '../../context.ts';

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
