/** How far in the future a client-supplied time may lie (clock skew between terminal and gateway). */
export const MAX_FUTURE_MS = 5 * 60_000;

const ISO =
  /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})(?:[T ](?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:\.(?<fraction>\d{1,9}))?)?(?<zone>Z|[+-]\d{2}:?\d{2})?)?$/i;
const DAY_MS = 86_400_000;

/** Why a text is not a timestamp: not ISO 8601 (or no real date), or a plant-local time the clocks skip. */
export type TimestampProblem = 'format' | 'nonexistent' | 'range';

/** The last instant ISO 8601 writes with a four-digit year; later ones would come back as `+010000-…`. */
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export type ParsedTimestamp = { ok: true; ms: number } | { ok: false; problem: TimestampProblem };

// One formatter per zone: building an Intl.DateTimeFormat costs far more than using it, and a batch
// of readings parses up to a thousand timestamps.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC, in ms, at the instant `utcMs` (whole seconds, as zones are). */
export function zoneOffsetMs(utcMs: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(utcMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(fields.year ?? 0, (fields.month ?? 1) - 1, fields.day ?? 1, fields.hour ?? 0, fields.minute ?? 0, fields.second ?? 0);
  return wall - Math.floor(utcMs / 1000) * 1000;
}

/**
 * The instant a plant-local wall-clock time (given as if it were UTC) names in `timeZone`.
 * Around a daylight-saving change the zone has two offsets: each is tried, and a candidate counts
 * when the zone really has that offset at that instant. Two hits: the autumn overlap, and the
 * earlier instant wins. No hit: the spring gap, a time the plant's clocks never show.
 */
export function localToInstant(wallMs: number, timeZone: string): number | undefined {
  const offsets = new Set([zoneOffsetMs(wallMs - DAY_MS, timeZone), zoneOffsetMs(wallMs + DAY_MS, timeZone)]);
  const hits = [...offsets].filter((offset) => zoneOffsetMs(wallMs - offset, timeZone) === offset).map((offset) => wallMs - offset);
  return hits.length > 0 ? Math.min(...hits) : undefined;
}

function int(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : Number.parseInt(text, 10);
}

/**
 * Parses ISO 8601 (a date alone means its midnight). A value with `Z` or an offset is taken as
 * written; one without is a wall-clock time in the plant time zone: an ambiguous one (autumn
 * overlap) takes the earlier instant, a nonexistent one (spring gap) is refused.
 */
export function parseTimestampDetailed(text: string, plantTz: string): ParsedTimestamp {
  const parsed = parseInstant(text, plantTz);
  return parsed.ok && parsed.ms > LAST_INSTANT ? { ok: false, problem: 'range' } : parsed;
}

function parseInstant(text: string, plantTz: string): ParsedTimestamp {
  const g = ISO.exec(text)?.groups;
  if (!g) return { ok: false, problem: 'format' };
  const [year, month, day] = [int(g.year, 0), int(g.month, 0), int(g.day, 0)];
  const [hour, minute, second] = [int(g.hour, 0), int(g.minute, 0), int(g.second, 0)];
  const millis = Math.floor(Number(`0.${g.fraction ?? '0'}`) * 1000);
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, problem: 'format' };
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(wall);
  // Date.UTC rolls 30 February over to March and maps years 0–99 to 1900–1999: refuse both.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return { ok: false, problem: 'format' };

  const zone = g.zone;
  if (zone === undefined) {
    if (plantTz === 'UTC') return { ok: true, ms: wall };
    const ms = localToInstant(wall, plantTz);
    return ms === undefined ? { ok: false, problem: 'nonexistent' } : { ok: true, ms };
  }
  if (zone.toUpperCase() === 'Z') return { ok: true, ms: wall };
  const digits = zone.slice(1).replace(':', '');
  const [offsetHours, offsetMinutes] = [int(digits.slice(0, 2), 0), int(digits.slice(2, 4), 0)];
  if (offsetHours > 23 || offsetMinutes > 59) return { ok: false, problem: 'format' };
  const sign = zone.startsWith('-') ? -1 : 1;
  return { ok: true, ms: wall - sign * (offsetHours * 60 + offsetMinutes) * 60_000 };
}

/** Epoch ms of an ISO 8601 text (see parseTimestampDetailed), or undefined when it names no instant. */
export function parseTimestamp(text: string, plantTz: string): number | undefined {
  const parsed = parseTimestampDetailed(text, plantTz);
  return parsed.ok ? parsed.ms : undefined;
}
