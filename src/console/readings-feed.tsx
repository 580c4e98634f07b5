import type { EventBus, ReadingsStored } from '../events/bus.ts';
import type { PlantTime } from '../core/plant-time.ts';
import type { ReadingTypeCatalog } from '../context.ts';
import { ValueRow } from './machines.tsx';

/** One rendered value row of a committed batch, for the pages that show its machine. */
export interface FeedRow {
  key: string;
  machineId: number;
  html: string;
}

/**
 * Stored readings for open console pages: one bus subscription however many pages are open, and
 * each batch's rows rendered once (not once per page). Pages pick the rows of their machines.
 */
export function createReadingsFeed(bus: EventBus, now: () => number, time: PlantTime, readingTypes: ReadingTypeCatalog) {
  const listeners = new Set<(rows: FeedRow[]) => void>();
  let unsubscribe: (() => void) | undefined;
  const onBatch = (batch: ReadingsStored) => {
    const view = { now: now(), time, readingTypes };
    const rows = batch.latest.map((l) => ({
      key: `${l.machineId}/${l.readingType}`,
      machineId: l.machineId,
      html: String(
        <ValueRow
          machineId={l.machineId}
          type={l.readingType}
          v={{ value: l.value, unit: l.unit, quality: l.quality, timestamp: new Date(l.sourceTs).toISOString() }}
          view={view}
        />,
      ),
    }));
    for (const listener of listeners) listener(rows);
  };
  return {
    /** Rows of every committed batch until the returned function is called. */
    subscribe(listener: (rows: FeedRow[]) => void): () => void {
      listeners.add(listener);
      unsubscribe ??= bus.subscribeReadings(onBatch);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          unsubscribe?.();
          unsubscribe = undefined;
        }
      };
    },
  };
}

export type ReadingsFeed = ReturnType<typeof createReadingsFeed>;
