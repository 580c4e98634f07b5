import type { AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import { recordAudit } from '../audit/service.ts';
import type { LegacyDb } from './legacy-db.ts';
import type { ImportReport } from './report.ts';
import { skip } from './report.ts';
import { int, role, text } from './values.ts';

/** What an import step needs: the store, the clock, the plant zone and the open command (for event rows). */
export type ImportCtx = Pick<AppContext, 'store' | 'clock'> & { plantTz: string; tx: Tx };

const PASSLIB_BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const SCRYPT = /^scrypt\$/;

/** Finds a row imported earlier by its legacy id (hand-written: legacy_id is not on any hot path). */
export function byLegacyId(ctx: ImportCtx, table: string, legacyId: number): number | undefined {
  const row = ctx.store.sqlite.prepare(`SELECT id FROM ${table} WHERE legacy_id = ?`).get(legacyId) as { id: number } | undefined;
  return row?.id;
}

/**
 * Users keep their passlib bcrypt hash: the first successful login verifies it and stores an
 * scrypt hash instead (src/modules/auth/password.ts). A username that already exists here (the
 * admin created on first start, say) is the same person: the old id is linked to it and its
 * password stays as it is.
 */
export function importUsers(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport): Map<number, number> {
  const map = new Map<number, number>();
  for (const row of legacy.rows('users')) {
    const legacyId = int(row.id);
    if (legacyId === undefined) {
      skip(report, 'users', String(row.id), 'id is not an integer');
      continue;
    }
    const done = byLegacyId(ctx, 'users', legacyId);
    if (done !== undefined) {
      map.set(legacyId, done);
      report.counts.users.already++;
      report.mapping.users.push({ legacyId, id: done, how: 'already' });
      continue;
    }
    const username = text(row.username)?.trim() ?? '';
    if (username.length === 0 || username.length > 64) {
      skip(report, 'users', legacyId, `username '${username}' must be 1–64 characters`);
      continue;
    }
    const mapped = role(row.role);
    if (!mapped.ok) {
      skip(report, 'users', legacyId, `${username}: ${mapped.reason}`);
      continue;
    }
    const existing = ctx.tx.users.byName(username);
    if (existing) {
      map.set(legacyId, existing.id);
      report.counts.users.already++;
      report.mapping.users.push({ legacyId, id: existing.id, how: 'linked' });
      report.notes.push(`user ${legacyId} (${username}) linked to the existing user ${existing.id} of the same name; its password and role here are kept`);
      continue;
    }
    const hash = text(row.password_hash) ?? '';
    if (!PASSLIB_BCRYPT.test(hash) && !SCRYPT.test(hash)) {
      report.notes.push(`user ${legacyId} (${username}): the password hash is not bcrypt; an admin must reset the password (POST /auth/users/{id}/password)`);
    }
    const now = ctx.clock.now();
    const id = ctx.store.ids.next('users');
    ctx.tx.users.insert({ id, username, passwordHash: hash, role: mapped.value, active: true, createdAt: now, updatedAt: now, legacyId });
    recordAudit(ctx, {
      action: 'user.create',
      targetUserId: id,
      targetUsername: username,
      details: { role: mapped.value, imported_from: 'fastapi', legacy_id: legacyId },
    });
    map.set(legacyId, id);
    report.counts.users.imported++;
    report.mapping.users.push({ legacyId, id, how: 'imported' });
  }
  return map;
}
