import type { DeviceStatus } from '../../../drivers/engine/types.ts';

/**
 * An outbound queue's status (the MQTT publisher, the Sparkplug edge node). GET /drivers/status
 * lists it beside the field devices with the same fields (API.md), so it carries them, plus its
 * queue figures.
 */
export type PublisherStatusEntry = DeviceStatus & { queue_depth: number; dropped: number; skipped: number };

/** One entry of GET /drivers/status, saying what it is: a field device or an outbound publisher. */
export type StatusEntry = (DeviceStatus & { kind: 'device' }) | (PublisherStatusEntry & { kind: 'publisher' });

/**
 * The live status of everything the gateway keeps a connection for: a reader per field device
 * (added by the drivers at start-up) and per outbound publisher, each read when asked.
 */
export interface StatusBoard {
  /** Every entry, read now, in the order they were added. */
  entries(): StatusEntry[];
  addDevice(read: () => DeviceStatus): void;
  addPublisher(read: () => PublisherStatusEntry): void;
  /** Forgets the field devices (their drivers stopped); publishers stay. */
  clearDevices(): void;
}

export function createStatusBoard(): StatusBoard {
  let readers: Array<{ kind: StatusEntry['kind']; read: () => StatusEntry }> = [];
  return {
    entries: () => readers.map((r) => r.read()),
    addDevice: (read) => {
      readers.push({ kind: 'device', read: () => ({ ...read(), kind: 'device' }) });
    },
    addPublisher: (read) => {
      readers.push({ kind: 'publisher', read: () => ({ ...read(), kind: 'publisher' }) });
    },
    clearDevices: () => {
      readers = readers.filter((r) => r.kind !== 'device');
    },
  };
}
