import type { Quality, Sample } from './types.ts';

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
      if (pass) {
        last.set(s.tag, { value: s.value, quality: s.quality, storedAt: now });
        out.push(s);
      }
    }
    return out;
  };
}
