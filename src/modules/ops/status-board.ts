import type { StatusBoard, StatusEntry } from '../../context.ts';

/** The status board of ctx.statusBoard: readers kept in the order added, read when asked. */
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
