import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import { keysetPageOf, type Page, type PageQuery } from '../../db/keyset.ts';
import type { Role } from '../../core/vocabulary.ts';
import { conflict, notFound } from '../../errors.ts';
import { recordAudit } from '../audit/service.ts';
import { dropBadgeHeldByOthers, dropBadgeOfNonWorker } from './badges.ts';
import type { AssignableWorker, UserView } from './schemas.ts';
import { getUserRow, revokeSessions, toUserView } from './service.ts';

/** GET /auth/users: every user, by id. */
export function listUsers(ctx: AppContext, q: PageQuery): Page<UserView> {
  const { users } = ctx.store.data;
  const { items, nextCursor } = ctx.store.read(() => keysetPageOf(q, { width: 1, keyOf: (u) => [u.id], fetch: users.page }));
  return { items: items.map(toUserView), nextCursor };
}

/** GET /auth/workers: active workers only, by id, with nothing but what an assignment form needs. */
export function listActiveWorkers(ctx: AppContext, q: PageQuery): Page<AssignableWorker> {
  const { users } = ctx.store.data;
  const { items, nextCursor } = ctx.store.read(() => keysetPageOf(q, { width: 1, keyOf: (u) => [u.id], fetch: users.activeWorkers }));
  return { items: items.map((u) => ({ ...u, role: 'worker' as const, active: true as const })), nextCursor };
}

/**
 * PATCH /auth/users/{id}/role, inside a command; the last active admin cannot be demoted. A user
 * who stops being a worker loses the badge and PIN, and their station sessions end (ADR 0018).
 */
export function changeRole(ctx: AppContext, tx: Tx, actor: Actor, userId: number, role: Role): UserView {
  const user = tx.users.byId(userId);
  if (!user) throw notFound('user');
  if (user.role === role) return toUserView(user);
  if (user.role === 'admin' && user.active && tx.users.otherActiveAdmins(userId) === 0) {
    throw conflict('the last admin cannot be demoted');
  }
  const row = tx.users.setRole(userId, role, ctx.clock.now());
  if (!row) throw notFound('user');
  const badgeDropped = role !== 'worker' && dropBadgeOfNonWorker(ctx, userId);
  recordAudit(ctx, {
    action: 'user.role_change',
    actorUserId: actor.userId,
    targetUserId: userId,
    targetUsername: user.username,
    clientIp: actor.clientIp ?? null,
    requestId: actor.requestId ?? null,
    details: { from: user.role, to: role, ...(badgeDropped ? { badge_dropped: 'only workers have a badge' } : {}) },
  });
  return toUserView(row);
}

/** PATCH /auth/users/{id}, inside a command: activate or deactivate; deactivation ends every session at once. */
export function setActive(ctx: AppContext, tx: Tx, actor: Actor, userId: number, active: boolean): UserView {
  const user = tx.users.byId(userId);
  if (!user) throw notFound('user');
  if (user.active === active) return toUserView(user);
  if (!active && user.role === 'admin' && tx.users.otherActiveAdmins(userId) === 0) {
    throw conflict('the last active admin cannot be deactivated');
  }
  const row = tx.users.setActive(userId, active, ctx.clock.now());
  if (!row) throw notFound('user');
  if (!active) revokeSessions(ctx, userId);
  const badgeDropped = active && dropBadgeHeldByOthers(ctx, userId);
  recordAudit(ctx, {
    action: active ? 'user.activate' : 'user.deactivate',
    actorUserId: actor.userId,
    targetUserId: userId,
    targetUsername: user.username,
    clientIp: actor.clientIp ?? null,
    requestId: actor.requestId ?? null,
    ...(badgeDropped ? { details: { badge_dropped: 'held by another active user' } } : {}),
  });
  return toUserView(row);
}

/** POST /auth/users/{id}/password: an admin sets a new password; the user's tokens stop working. */
export async function resetPassword(ctx: AppContext, actor: Actor, userId: number, newPassword: string): Promise<void> {
  if (!getUserRow(ctx, userId)) throw notFound('user');
  const passwordHash = await ctx.passwords.hash(newPassword);
  await ctx.store.command((tx) => {
    const user = tx.users.byId(userId);
    if (!user) throw notFound('user');
    tx.users.setPassword(userId, passwordHash, ctx.clock.now());
    revokeSessions(ctx, userId);
    recordAudit(ctx, {
      action: 'user.password_reset',
      actorUserId: actor.userId,
      targetUserId: userId,
      targetUsername: user.username,
      clientIp: actor.clientIp ?? null,
      requestId: actor.requestId ?? null,
    });
  });
}

/** True when the database has no users yet (first start). */
export function hasNoUsers(ctx: Pick<AppContext, 'store'>): boolean {
  return ctx.store.data.users.count() === 0;
}
