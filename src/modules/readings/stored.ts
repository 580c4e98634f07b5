import type { EventBus, LatestReading } from '../../events/bus.ts';
import type { ReadingInput } from './writer.ts';

/**
 * After a batch commits: one bus message with the newest value per (machine, reading type), the
 * same rule machine_latest keeps (the later source timestamp wins). Nothing is built when nobody
 * listens, so a gateway without open consoles pays one check per batch.
 */
export function publishStored(bus: Pick<EventBus, 'publishReadings' | 'hasReadingsListeners'> | undefined, batch: ReadonlyArray<{ r: ReadingInput }>): void {
  if (!bus?.hasReadingsListeners()) return;
  const latest = new Map<string, LatestReading>();
  for (const { r } of batch) {
    const key = `${r.machineId}\u0000${r.readingType}`;
    const seen = latest.get(key);
    if (seen && seen.sourceTs > r.sourceTs) continue;
    latest.set(key, {
      machineId: r.machineId,
      readingType: r.readingType,
      value: r.value,
      unit: r.unit,
      quality: r.quality,
      reason: r.reason,
      sourceTs: r.sourceTs,
    });
  }
  bus.publishReadings({ count: batch.length, latest: [...latest.values()] });
}
