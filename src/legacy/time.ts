/**
 * The old FastAPI backend stored naive local datetimes and returned them with Python's
 * `isoformat()`: `2026-11-26T09:00:00`, or `2026-11-26T09:00:00.123000` when there are
 * fractional seconds, never an offset. The legacy listener renders v1's UTC instants that way,
 * as wall-clock time in PLANT_TZ.
 */

import { naivePlantTime } from '../core/plant-time.ts';

/** Returns a formatter from epoch ms to naive plant-local ISO 8601 (one Intl formatter per zone). */
export const plantTimeFormatter = naivePlantTime;

/**
 * Converts one v1 timestamp (UTC ISO 8601 with `Z`) to the old naive form; null stays null and
 * anything that is not a timestamp is passed on untouched rather than guessed at.
 */
export function toPlantTime(value: unknown, format: (ms: number) => string): unknown {
  if (typeof value !== 'string') return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : format(ms);
}
