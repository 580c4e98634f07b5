// Speed-up "cached ISO formatting" (issues 7 and 24): every timestamp leaves the gateway as UTC ISO
// 8601 with milliseconds, four per work order of a list, and Date#toISOString was the largest single
// cost of a page of 50 work orders (16% of its CPU profile, issue 7). `isoUtc` writes the same bytes
// from a per-day prefix cache and two lookup tables at about half the cost, and `isoNow` formats the
// wall clock once per millisecond for every envelope and log line sharing it (docs/benchmarks.md,
// "Issue 7"). Left: ~3% of a page of 50, and none where the row JSON cache answers (http/json-rows.ts).

const DAY_MS = 86_400_000;
/** 9999-12-31T23:59:59.999Z: beyond it toISOString writes a six-digit year. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const MAX_DAYS = 4096;
/** "YYYY-MM-DDT" by day number since the epoch; a page of rows spans a few days. */
const dayPrefixes = new Map<number, string>();

/** `new Date(ms).toISOString()`, byte for byte, at a fraction of the cost. */
export function isoUtc(ms: number): string {
  // Negative, fractional, huge and NaN values keep the built-in's exact behaviour (and its RangeError).
  if (!(ms >= 0 && ms <= LAST_FOUR_DIGIT_YEAR_MS) || ms % 1 !== 0) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= MAX_DAYS) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${prefix}${TWO[hours]}:${TWO[minutes]}:${TWO[seconds]}.${THREE[rest - seconds * 1000]}Z`;
}

let lastNowMs = Number.NaN;
let lastNowIso = '';

/** The wall clock as ISO 8601, formatted once per millisecond however many answers and log lines share it. */
export function isoNow(): string {
  const now = Date.now();
  if (now !== lastNowMs) {
    lastNowMs = now;
    lastNowIso = isoUtc(now);
  }
  return lastNowIso;
}

/** A stored time (epoch ms) as the API and the logs write it: UTC ISO 8601 with milliseconds; null stays null. */
export function iso(ms: number): string;
export function iso(ms: number | null | undefined): string | null;
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : isoUtc(ms);
}
