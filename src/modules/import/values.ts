import { ISSUE_STATUSES, ISSUE_TYPES, type IssueStatus, ROLES, type Role, STAGE_STATUSES, type StageStatus } from '../../core/vocabulary.ts';
import { parseTimestampDetailed } from '../../core/time.ts';
import type { Cell } from './legacy-db.ts';

// Values of the old backend are mapped only where the meaning is certain. Anything else is
// reported with the original value, never guessed (a wrong role is a security problem; a wrong
// stage status corrupts the floor's picture).

export type Mapped<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Mapped<T> => ({ ok: true, value });
const no = <T>(reason: string): Mapped<T> => ({ ok: false, reason });

export function text(v: Cell | undefined): string | undefined {
  if (v === null || v === undefined || Buffer.isBuffer(v)) return undefined;
  return String(v);
}

export function int(v: Cell | undefined): number | undefined {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

const norm = (v: string) => v.trim().toLowerCase();

export function role(v: Cell | undefined): Mapped<Role> {
  const s = text(v);
  const r = s === undefined ? undefined : ROLES.find((x) => x === norm(s));
  return r ? ok(r) : no(`unknown role '${s ?? 'NULL'}' (known: ${ROLES.join(', ')}); fix it in the old database and import again`);
}

export function stageStatus(v: Cell | undefined): Mapped<StageStatus> {
  const s = text(v);
  const r = s === undefined ? undefined : STAGE_STATUSES.find((x) => x === norm(s));
  return r ? ok(r) : no(`unknown stage status '${s ?? 'NULL'}' (known: ${STAGE_STATUSES.join(', ')})`);
}

/** `acknowledged` is the old spelling of `ack`; anything else unknown is reported. */
export function issueStatus(v: Cell | undefined): Mapped<IssueStatus> {
  const s = text(v);
  if (s === undefined) return ok('open');
  const n = norm(s) === 'acknowledged' ? 'ack' : norm(s);
  const r = ISSUE_STATUSES.find((x) => x === n);
  return r ? ok(r) : no(`unknown issue status '${s}' (known: ${ISSUE_STATUSES.join(', ')})`);
}

/** Unknown issue types become `other`; the original type is kept at the front of the description. */
export function issueType(v: Cell | undefined, description: string): { type: (typeof ISSUE_TYPES)[number]; description: string; changed: boolean } {
  const s = text(v) ?? '';
  const known = ISSUE_TYPES.find((x) => x === norm(s));
  if (known) return { type: known, description, changed: false };
  return { type: 'other', description: `[legacy type: ${s}] ${description}`.trim(), changed: true };
}

/**
 * SQLAlchemy stores DateTime in SQLite as naive text ('2024-03-01 08:00:00.000000'): wall-clock
 * time of the plant, read in PLANT_TZ. A value with an offset is taken as written.
 */
export function time(v: Cell | undefined, plantTz: string, what: string, required: boolean): Mapped<number | null> {
  if (v === null || v === undefined || v === '') return required ? no(`${what} is missing`) : ok(null);
  if (typeof v === 'number' || typeof v === 'bigint') return no(`${what} '${String(v)}' is a number, not a date`);
  const s = text(v) ?? '';
  const parsed = parseTimestampDetailed(s.trim(), plantTz);
  if (parsed.ok) return ok(parsed.ms);
  if (parsed.problem === 'range') return no(`${what} '${s}' is after the year 9999 (UTC)`);
  if (parsed.problem === 'nonexistent') return no(`${what} '${s}' does not exist in ${plantTz} (skipped when the clocks go forward)`);
  return no(`${what} '${s}' is not a date`);
}
