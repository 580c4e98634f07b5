import { localToInstant, zoneOffsetMs } from '../../core/time.ts';
import { type ShiftConfig, WEEKDAYS } from '../../core/oee-settings.ts';

const DAY_MS = 86_400_000;

/** A time span in epoch ms, `from` included, `to` excluded. */
export interface Span {
  from: number;
  to: number;
}

/** One occurrence of a configured shift: its instants, its breaks and its planned production time. */
export interface ShiftInstance {
  /** `<plant-local start date>/<shift name>`, for example `2026-03-28/night`. */
  id: string;
  name: string;
  /** Plant-local date the shift starts on (YYYY-MM-DD). */
  date: string;
  start: number;
  end: number;
  breaks: Span[];
  /** Shift time minus breaks, in ms (a night shift over a clock change is an hour shorter or longer). */
  plannedMs: number;
}

/** The instant of a plant-local wall time; a time the clocks skip (spring gap) is taken with the offset before the gap. */
export function plantInstant(date: string, time: string, tz: string): number {
  const wall = Date.parse(`${date}T${time}:00Z`);
  return localToInstant(wall, tz) ?? wall - zoneOffsetMs(wall - DAY_MS, tz);
}

/** The plant-local date (YYYY-MM-DD) of an instant. */
export function plantDate(ms: number, tz: string): string {
  return dateOf(ms + zoneOffsetMs(ms, tz));
}

/** Midnight UTC of a date, the day's number in ms (compared as numbers: `+010000-01-01` sorts before `9999-12-31` as text). */
const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`);
/** The date of a day number; the year 10000 and later keep their sign and six digits (`+010000-01-01`). */
const dateOf = (day: number) => new Date(day).toISOString().split('T')[0] as string;
const addDays = (date: string, days: number) => dateOf(dayMs(date) + days * DAY_MS);
const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The instance of `shift` that starts on plant-local `date` (whether or not it is a working day of the shift). */
export function shiftOn(shift: ShiftConfig, date: string, tz: string): ShiftInstance {
  const startMin = minutes(shift.start);
  // A time of day before the shift's start belongs to the next day (a night shift's end and late breaks).
  const at = (t: string) => plantInstant(minutes(t) <= startMin ? addDays(date, 1) : date, t, tz);
  const start = plantInstant(date, shift.start, tz);
  const end = at(shift.end);
  const breaks = shift.breaks
    .map((b) => ({ from: minutes(b.start) < startMin ? at(b.start) : plantInstant(date, b.start, tz), to: at(b.end) }))
    .map((b) => ({ from: Math.max(b.from, start), to: Math.min(b.to, end) }))
    .filter((b) => b.to > b.from)
    .sort((a, b) => a.from - b.from);
  const breakMs = breaks.reduce((sum, b) => sum + (b.to - b.from), 0);
  return { id: `${date}/${shift.name}`, name: shift.name, date, start, end, breaks, plannedMs: end - start - breakMs };
}

/** Every shift instance that overlaps [from, to), in start order. */
export function shiftsBetween(shifts: ShiftConfig[], span: Span, tz: string): ShiftInstance[] {
  const out: ShiftInstance[] = [];
  const last = dayMs(plantDate(span.to, tz));
  // A shift that started the day before can still run into `from`.
  for (let day = dayMs(plantDate(span.from, tz)) - DAY_MS; day <= last; day += DAY_MS) {
    const date = dateOf(day);
    const weekday = WEEKDAYS[new Date(day).getUTCDay()];
    for (const shift of shifts) {
      if (!weekday || !shift.days.includes(weekday)) continue;
      const instance = shiftOn(shift, date, tz);
      if (instance.start < span.to && instance.end > span.from) out.push(instance);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The shift instance named by `<date>/<name>`, or undefined when no configured shift works that day. */
export function shiftById(shifts: ShiftConfig[], id: string, tz: string): ShiftInstance | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})\/([a-z0-9_-]{1,32})$/.exec(id);
  if (!m?.[1] || !m[2]) return undefined;
  const [date, name] = [m[1], m[2]];
  if (Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) return undefined;
  const shift = shifts.find((s) => s.name === name);
  const weekday = WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()];
  if (!shift || !weekday || !shift.days.includes(weekday)) return undefined;
  return shiftOn(shift, date, tz);
}

/** The shift running at `ms`, if any. */
export function shiftAt(shifts: ShiftConfig[], ms: number, tz: string): ShiftInstance | undefined {
  return shiftsBetween(shifts, { from: ms, to: ms + 1 }, tz).find((s) => s.start <= ms && ms < s.end);
}

/** Planned production time inside `span`: the parts of shifts within it, minus their breaks. */
export function plannedSpans(shifts: ShiftConfig[], span: Span, tz: string): Span[] {
  const out: Span[] = [];
  for (const s of shiftsBetween(shifts, span, tz)) {
    let cursor = Math.max(s.start, span.from);
    const end = Math.min(s.end, span.to);
    for (const b of s.breaks) {
      if (b.from > cursor) out.push({ from: cursor, to: Math.min(b.from, end) });
      cursor = Math.max(cursor, b.to);
    }
    if (end > cursor) out.push({ from: cursor, to: end });
  }
  return out.filter((p) => p.to > p.from);
}

/** Total length of the overlap between two sorted lists of disjoint spans. */
export function overlapMs(a: Span[], b: Span[]): number {
  let total = 0;
  for (const x of a) for (const y of b) total += Math.max(0, Math.min(x.to, y.to) - Math.max(x.from, y.from));
  return total;
}
