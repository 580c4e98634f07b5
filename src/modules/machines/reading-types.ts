import type { ReadingTypeCatalog, ReadingTypeInfo } from '../../context.ts';

export function createReadingTypeCatalog(): ReadingTypeCatalog {
  const byKey = new Map<string, ReadingTypeInfo>();
  const key = (machineId: number, readingType: string) => `${machineId}/${readingType}`;
  return {
    describe: (machine, readingType) => byKey.get(key(machine, readingType)),
    load(cfg, machineIds) {
      byKey.clear();
      for (const { config: device } of cfg.devices) {
        for (const tag of device.tags) {
          const machine = machineIds.get(tag.machine ?? device.machine ?? '');
          if (machine === undefined) continue;
          // Only OPC UA tags carry a sampling interval of their own.
          const sampling = 'sampling_interval_ms' in tag && typeof tag.sampling_interval_ms === 'number' ? tag.sampling_interval_ms : undefined;
          byKey.set(key(machine, tag.reading_type), {
            displayName: tag.display_name,
            unit: tag.unit,
            periodMs: sampling || tag.poll_interval_ms || device.poll_interval_ms,
          });
        }
      }
    },
  };
}

/** "fan_speed" → "Fan speed": a reading type without a configured display name, made readable. */
export function humanReadingType(readingType: string): string {
  const words = readingType.replace(/[_.:-]+/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : readingType;
}
