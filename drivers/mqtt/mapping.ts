import type { NameSource, Subscription } from './config.ts';

/** A reading decoded from a payload, before the machine name is resolved to an id. */
export interface DecodedReading {
  /** Index of the subscription that produced it. */
  subscription: number;
  machine: string;
  readingType: string;
  value: number;
  unit: string | null;
  sourceTs: number;
}

export type RejectReason = 'too_large' | 'malformed_json' | 'missing_field' | 'wrong_type' | 'bad_name' | 'bad_timestamp' | 'unknown_machine' | 'not_stored';

export type Decoded = { ok: true; readings: DecodedReading[] } | { ok: false; reason: RejectReason; detail: string };

/** True when an MQTT topic filter matches a topic (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return !(i === 0 && t[0]?.startsWith('$'));
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (i === 0 && t[0]?.startsWith('$')) return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const MISSING = Symbol('missing');

function at(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let cur: unknown = doc;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return MISSING;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

class Reject extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

function nameFrom(src: NameSource, levels: string[], doc: unknown, what: string): string {
  let v: unknown;
  if (typeof src === 'string') v = src;
  else if ('segment' in src) v = levels[src.segment] ?? MISSING;
  else v = at(doc, src.field);
  if (v === MISSING) throw new Reject('missing_field', `${what} not found`);
  if (typeof v !== 'string') throw new Reject('wrong_type', `${what} must be a string`);
  // Machine names are looked up as they are; reading types follow the API's rule.
  if (what === 'reading_type' && !NAME.test(v)) throw new Reject('bad_name', 'reading_type must be 1–64 characters of A-Z a-z 0-9 _ . : -');
  if (v.length === 0 || v.length > 64) throw new Reject('bad_name', `${what} must be 1–64 characters`);
  return v;
}

function timestampFrom(doc: unknown, path: string | undefined, receivedAt: number): number {
  if (path === undefined) return receivedAt;
  const v = at(doc, path);
  if (v === MISSING) throw new Reject('missing_field', `${path} not found`);
  const ms = typeof v === 'number' ? v : typeof v === 'string' && /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? Date.parse(v) : Number.NaN;
  // Epoch ms between 2000 and 2100: a seconds value or garbage would land far outside.
  if (!Number.isFinite(ms) || ms < 946_684_800_000 || ms > 4_102_444_800_000)
    throw new Reject('bad_timestamp', `${path} must be ISO 8601 with an offset or epoch milliseconds`);
  return ms;
}

/**
 * Turns one message into readings for every subscription whose filter matches its topic. All or
 * nothing: one bad field rejects the whole message, so no partial row is ever stored.
 */
export function decodeMessage(subs: Subscription[], topic: string, payload: Buffer, maxBytes: number, receivedAt: number): Decoded {
  if (payload.length > maxBytes) return { ok: false, reason: 'too_large', detail: `${payload.length} bytes (limit ${maxBytes})` };
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed_json', detail: 'payload is not JSON' };
  }
  const levels = topic.split('/');
  const readings: DecodedReading[] = [];
  try {
    for (const [i, s] of subs.entries()) {
      if (!topicMatches(s.topic, topic)) continue;
      const v = at(doc, s.value_path);
      if (v === MISSING) throw new Reject('missing_field', `${s.value_path} not found`);
      const value = typeof v === 'boolean' ? Number(v) : v;
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new Reject('wrong_type', `${s.value_path || 'payload'} must be a finite number or a boolean`);
      readings.push({
        subscription: i,
        machine: nameFrom(s.machine, levels, doc, 'machine'),
        readingType: nameFrom(s.reading_type, levels, doc, 'reading_type'),
        value,
        unit: s.unit ?? null,
        sourceTs: timestampFrom(doc, s.timestamp_path, receivedAt),
      });
    }
  } catch (err) {
    if (err instanceof Reject) return { ok: false, reason: err.reason, detail: err.message };
    throw err;
  }
  return { ok: true, readings };
}
