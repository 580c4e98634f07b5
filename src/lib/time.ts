/** How far in the future a client-supplied time may lie (clock skew between terminal and gateway). */
export const MAX_FUTURE_MS = 5 * 60_000;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Offset of `timeZone` from UTC, in ms, at the UTC instant `utcMs`. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * Parses ISO 8601. A value with `Z` or an offset is taken as written; a value without one is a
 * wall-clock time in the plant time zone. Returns epoch ms, or undefined when not a real instant.
 */
export function parseTimestamp(text: string, plantTz: string): number | undefined {
  const dateOnly = DATE_ONLY.exec(text);
  const m = dateOnly ? [text, dateOnly[1], dateOnly[2], dateOnly[3], '00', '00'] : ISO.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const second = Number(m[6] ?? 0);
  const ms = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  if ([year, month, day, hour, minute].some((n) => n === undefined || Number.isNaN(n))) return undefined;
  const wall = Date.UTC(year as number, (month as number) - 1, day as number, hour as number, minute as number, second, ms);
  const check = new Date(wall);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== (month as number) - 1 ||
    check.getUTCDate() !== day ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const zone = m[8];
  if (zone) {
    if (zone.toUpperCase() === 'Z') return wall;
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
    if (Number(digits.slice(0, 2)) > 23 || Number(digits.slice(2, 4)) > 59) return undefined;
    return wall - sign * offset;
  }
  if (plantTz === 'UTC') return wall;
  // Two passes settle the offset around DST changes.
  let guess = wall - zoneOffsetMs(wall, plantTz);
  guess = wall - zoneOffsetMs(guess, plantTz);
  return guess;
}
