/**
 * The old FastAPI backend stored naive local datetimes and returned them with Python's
 * `isoformat()`: `2026-11-26T09:00:00`, or `2026-11-26T09:00:00.123000` when there are
 * fractional seconds, never an offset. The legacy listener renders v1's UTC instants that way,
 * as wall-clock time in PLANT_TZ.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Returns a formatter from epoch ms to naive plant-local ISO 8601 (one Intl formatter per zone). */
export function plantTimeFormatter(timeZone: string): (ms: number) => string {
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
    const parts: Record<string, string> = {};
    for (const p of fmt.formatToParts(new Date(ms))) parts[p.type] = p.value;
    const year = pad(Number(parts.year), 4);
    return naive(`${year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`, ms);
  };
}

function naive(wallClock: string, ms: number): string {
  const fraction = ((ms % 1000) + 1000) % 1000;
  return fraction === 0 ? wallClock : `${wallClock}.${pad(fraction, 3)}000`;
}

/**
 * Converts one v1 timestamp (UTC ISO 8601 with `Z`) to the old naive form; null stays null and
 * anything that is not a timestamp is passed on untouched rather than guessed at.
 */
export function toPlantTime(value: unknown, format: (ms: number) => string): unknown {
  if (typeof value !== 'string') return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : format(ms);
}
