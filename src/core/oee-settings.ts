import { z } from 'zod';

// gateway.yaml `oee:` — the plant calendar, downtime rules, reason codes, ideal cycle times and
// counter tags. Imports nothing of ours (src/config.ts parses it once at start-up).

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
const DAY_MIN = 1440;

/** Losses of the six-big-losses breakdown a downtime reason belongs to (docs/oee.md). */
export const DOWNTIME_LOSSES = ['breakdown', 'setup'] as const;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a plant-local time of day such as 06:00 or 22:30' });
const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
const code = z.string().regex(/^[a-z0-9_]{1,32}$/, { message: 'must be 1–32 characters of a-z 0-9 _' });

const breakSchema = z.object({ start: hhmm, end: hhmm }).strict();

const shiftSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]{1,32}$/, { message: 'must be 1–32 characters of a-z 0-9 _ -' }),
    days: z.array(z.enum(WEEKDAYS, { message: 'must be one of sun mon tue wed thu fri sat' })).min(1, { message: 'must name at least one weekday' }),
    start: hhmm,
    /** At or before `start`: the shift ends on the next day (a night shift). */
    end: hhmm,
    breaks: z.array(breakSchema).max(20).default([]),
  })
  .strict()
  .superRefine((s, zctx) => {
    const start = minutes(s.start);
    const rel = (t: string) => (minutes(t) - start + DAY_MIN) % DAY_MIN;
    const length = rel(s.end) || DAY_MIN;
    if (length === DAY_MIN) zctx.addIssue({ code: 'custom', path: ['end'], message: 'must differ from start (a shift is shorter than a day)' });
    const spans = s.breaks.map((b) => ({ from: rel(b.start), to: rel(b.end) || DAY_MIN }));
    spans.forEach((b, i) => {
      if (b.from >= b.to || b.to > length) zctx.addIssue({ code: 'custom', path: ['breaks', i], message: `must lie inside the shift ${s.start}–${s.end}` });
      const other = spans.findIndex((o, j) => j < i && o.from < b.to && b.from < o.to);
      if (other >= 0) zctx.addIssue({ code: 'custom', path: ['breaks', i], message: `overlaps break ${other}` });
    });
  });

/** A planned-time shift as configured: local times, the weekdays it starts on, breaks. */
export type ShiftConfig = z.infer<typeof shiftSchema>;

const reasonLeaf = z.object({ code, label: z.string().min(1).max(64) }).strict();
const reasonGroup = z
  .object({ code, label: z.string().min(1).max(64), loss: z.enum(DOWNTIME_LOSSES).default('breakdown'), children: z.array(reasonLeaf).min(1).max(50) })
  .strict();
export type ReasonGroup = z.infer<typeof reasonGroup>;

const DEFAULT_REASONS: ReasonGroup[] = [
  {
    code: 'mechanical',
    label: 'Mechanical',
    loss: 'breakdown',
    children: [
      { code: 'breakdown', label: 'Breakdown' },
      { code: 'jam', label: 'Jam' },
    ],
  },
  { code: 'electrical', label: 'Electrical', loss: 'breakdown', children: [{ code: 'electrical_fault', label: 'Electrical fault' }] },
  {
    code: 'material',
    label: 'Material',
    loss: 'breakdown',
    children: [
      { code: 'shortage', label: 'Shortage' },
      { code: 'wrong_material', label: 'Wrong material' },
    ],
  },
  {
    code: 'organisation',
    label: 'Organisation',
    loss: 'breakdown',
    children: [
      { code: 'no_operator', label: 'No operator' },
      { code: 'waiting_for_order', label: 'Waiting for order' },
    ],
  },
  {
    code: 'changeover',
    label: 'Changeover',
    loss: 'setup',
    children: [
      { code: 'tool_change', label: 'Tool change' },
      { code: 'setup', label: 'Setup' },
      { code: 'cleaning', label: 'Cleaning' },
    ],
  },
];

const DOWNTIME_DEFAULTS = { threshold_s: 120, open_issue_after_s: 0 };

const counterSchema = z
  .object({
    /** Reading types of the machine's counter tags (readings stored by its device). */
    good: z.string().min(1).max(64),
    scrap: z.string().min(1).max(64).optional(),
    /** The value after which the counter starts again at 0 (65536 for a 16-bit counter); absent: a drop is a reset. */
    wrap: z
      .number()
      .int()
      .min(2)
      .max(2 ** 53)
      .optional(),
  })
  .strict();
export type CounterConfig = z.infer<typeof counterSchema>;

const seconds = z.number().positive({ message: 'must be a positive number of seconds' }).max(86_400);

export const oeeSettingsSchema = z
  .object({
    shifts: z.array(shiftSchema).max(50).default([]),
    downtime: z
      .object({
        /** A stop shorter than this inside planned time is a short stop, not a downtime record. */
        threshold_s: z.number().int().min(1).max(86_400).default(DOWNTIME_DEFAULTS.threshold_s),
        /** A downtime longer than this opens a machine_breakdown issue on the stage running on it; 0: never. */
        open_issue_after_s: z.number().int().min(0).max(604_800).default(DOWNTIME_DEFAULTS.open_issue_after_s),
      })
      .strict()
      .default(DOWNTIME_DEFAULTS),
    reasons: z.array(reasonGroup).min(1).max(50).default(DEFAULT_REASONS),
    ideal_cycle_s: z
      .object({ products: z.record(z.string().min(1).max(64), seconds).default({}), machines: z.record(z.string().min(1).max(64), seconds).default({}) })
      .strict()
      .default({ products: {}, machines: {} }),
    /** Counter tags by machine name: their counts replace the stage completions' for that machine. */
    counters: z.record(z.string().min(1).max(64), counterSchema).default({}),
  })
  .strict()
  .superRefine((o, zctx) => {
    const names = new Set<string>();
    o.shifts.forEach((s, i) => {
      if (names.has(s.name)) zctx.addIssue({ code: 'custom', path: ['shifts', i, 'name'], message: `another shift is named ${s.name}` });
      names.add(s.name);
    });
    const clash = overlappingShifts(o.shifts);
    if (clash) zctx.addIssue({ code: 'custom', path: ['shifts', clash.index], message: `overlaps shift ${clash.other} on ${clash.day}` });
    const codes = new Set<string>();
    o.reasons.forEach((g, i) => {
      for (const [j, c] of [g.code, ...g.children.map((ch) => ch.code)].entries()) {
        if (codes.has(c))
          zctx.addIssue({ code: 'custom', path: ['reasons', i, ...(j === 0 ? [] : ['children', j - 1]), 'code'], message: `code ${c} is used twice` });
        codes.add(c);
      }
    });
  });

export type OeeSettings = z.infer<typeof oeeSettingsSchema>;

/** The first shift that overlaps an earlier one in the week (minutes of the week, wrapping at Saturday midnight). */
function overlappingShifts(shifts: ShiftConfig[]): { index: number; other: string; day: Weekday } | undefined {
  const WEEK = 7 * DAY_MIN;
  const spans: Array<{ from: number; to: number; name: string }> = [];
  for (const [index, s] of shifts.entries()) {
    const start = minutes(s.start);
    const length = (minutes(s.end) - start + DAY_MIN) % DAY_MIN || DAY_MIN;
    for (const day of s.days) {
      const from = WEEKDAYS.indexOf(day) * DAY_MIN + start;
      const hit = spans.find((o) => [0, WEEK, -WEEK].some((shift) => o.from + shift < from + length && from < o.to + shift));
      if (hit) return { index, other: hit.name, day };
      spans.push({ from, to: from + length, name: s.name });
    }
  }
  return undefined;
}
