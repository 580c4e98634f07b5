import type { Sample } from './types.ts';
import type { Quality } from '../../src/core/vocabulary.ts';

interface Last {
  value: number | string | null;
  quality: Quality;
  storedAt: number;
}

/**
 * Report by exception: a sample passes when its quality changed, its value moved by more than
 * the tag's deadband, or the heartbeat interval passed since the last stored value.
 */
export function createExceptionFilter(deadbandOf: (tag: string) => number, heartbeatMs: number) {
  const last = new Map<string, Last>();
  return (samples: Sample[], now: number): Sample[] => {
    const out: Sample[] = [];
    for (const s of samples) {
      const prev = last.get(s.tag);
      let pass = !prev || prev.quality !== s.quality || now - prev.storedAt >= heartbeatMs;
      if (!pass && prev) {
        if (typeof s.value === 'number' && typeof prev.value === 'number') pass = Math.abs(s.value - prev.value) > deadbandOf(s.tag);
        else pass = s.value !== prev.value;
      }
      if (!pass) continue;
      // Updated in place: at 10,000 changing tags/s a new record per value was most of the garbage.
      if (prev) {
        prev.value = s.value;
        prev.quality = s.quality;
        prev.storedAt = now;
      } else last.set(s.tag, { value: s.value, quality: s.quality, storedAt: now });
      out.push(s);
    }
    return out;
  };
}
