/**
 * Times as people on the floor read them: in the plant's time zone (PLANT_TZ), with the zone's
 * abbreviation so nobody has to guess ("13:05 CET"). One formatter per zone, built once: building an
 * Intl.DateTimeFormat costs far more than using it, and a page formats hundreds of times.
 */
export interface PlantTime {
  /** The IANA zone, e.g. Europe/Berlin. */
  readonly zone: string;
  /** "13:05 CET" */
  clock(ms: number): string;
  /** "13:05" without the zone (chart axis ticks, where the zone is said once). */
  hhmm(ms: number): string;
  /** "CET" (or "GMT+5:30" where the zone has no common abbreviation). */
  zoneName(ms: number): string;
  /** The plant's calendar day of an instant, "2026-12-07". */
  day(ms: number): string;
  /** "13:05 CET" on the plant day of `now`, else "2026-12-06 13:05 CET"; "—" for no time. */
  at(iso: string | number | null | undefined, now: number): string;
}

const cache = new Map<string, PlantTime>();

function parts(f: Intl.DateTimeFormat, ms: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(ms)) if (p.type !== 'literal') out[p.type] = p.value;
  return out;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function naive(wallClock: string, ms: number): string {
  const fraction = ((ms % 1000) + 1000) % 1000;
  return fraction === 0 ? wallClock : `${wallClock}.${pad(fraction, 3)}000`;
}

/**
 * Epoch ms → naive plant-local ISO 8601 (`2026-11-26T09:00:00`, `.123000` with a fraction), as the
 * old FastAPI backend wrote times (the legacy listener) and as the console reads a plant day.
 */
export function naivePlantTime(timeZone: string): (ms: number) => string {
  if (timeZone === 'UTC') return (ms) => naive(new Date(ms).toISOString().slice(0, 19), ms);
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return (ms) => {
    const p = parts(fmt, ms);
    return naive(`${pad(Number(p.year), 4)}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`, ms);
  };
}

/** The formatter of one zone (cached); PLANT_TZ is validated by config.ts, so `zone` is a real zone. */
export function plantTime(zone: string): PlantTime {
  const known = cache.get(zone);
  if (known) return known;
  const wall = naivePlantTime(zone);
  // en-US names American zones (CST), en-GB European ones (CET); either else says GMT+1.
  const names = ['en-US', 'en-GB'].map((locale) => new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' }));
  const zoneName = (ms: number) => {
    const found = names.map((f) => parts(f, ms).timeZoneName ?? '');
    return found.find((n) => n !== '' && !/^GMT[+-]/.test(n)) ?? found[0] ?? zone;
  };
  const hhmm = (ms: number) => wall(ms).slice(11, 16);
  const day = (ms: number) => wall(ms).slice(0, 10);
  const clock = (ms: number) => `${hhmm(ms)} ${zoneName(ms)}`;
  const pt: PlantTime = {
    zone,
    clock,
    hhmm,
    zoneName,
    day,
    at(value, now) {
      if (value === null || value === undefined || value === '') return '—';
      const ms = typeof value === 'number' ? value : Date.parse(value);
      if (Number.isNaN(ms)) return '—';
      return day(ms) === day(now) ? clock(ms) : `${day(ms)} ${clock(ms)}`;
    },
  };
  cache.set(zone, pt);
  return pt;
}
