import { and, asc, count, eq, ne } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page, type PageQuery } from '../../db/keyset.ts';
import { users } from '../../db/schema.ts';
import type { Role } from '../../core/vocabulary.ts';
import { conflict, notFound } from '../../errors.ts';
import { recordAudit } from '../audit/service.ts';
import { dropBadgeHeldByOthers, dropBadgeOfNonWorker } from './badges.ts';
import type { AssignableWorker, UserView } from './schemas.ts';
import { getUserRow, revokeSessions, toUserView } from './service.ts';

/** GET /auth/users: every user, by id. */
export function listUsers(ctx: AppContext, q: PageQuery): Page<UserView> {
  const { items, nextCursor } = ctx.store.read(() =>
    keysetPage(q, {
      keys: [users.id],
      direction: 'asc',
      fetch: (after, limit) => ctx.store.db.select().from(users).where(after).orderBy(asc(users.id)).limit(limit).all(),
      keyOf: (u) => [u.id],
    }),
  );
  return { items: items.map(toUserView), nextCursor };
}

/** GET /auth/workers: active workers only, by id, with nothing but what an assignment form needs. */
export function listActiveWorkers(ctx: AppContext, q: PageQuery): Page<AssignableWorker> {
  const { items, nextCursor } = ctx.store.read(() =>
    keysetPage(q, {
      keys: [users.id],
      direction: 'asc',
      fetch: (after, limit) =>
        ctx.store.db
          .select({ id: users.id, username: users.username })
          .from(users)
          .where(and(eq(users.role, 'worker'), eq(users.active, true), after))
          .orderBy(asc(users.id))
          .limit(limit)
          .all(),
      keyOf: (u) => [u.id],
    }),
  );
  return { items: items.map((u) => ({ ...u, role: 'worker' as const, active: true as const })), nextCursor };
}

function otherActiveAdmins(ctx: AppContext, userId: number): number {
  const row = ctx.store.db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.active, true), ne(users.id, userId)))
    .get();
  return row?.n ?? 0;
}

/**
 * PATCH /auth/users/{id}/role, inside a command; the last active admin cannot be demoted. A user
 * who stops being a worker loses the badge and PIN, and their station sessions end (ADR 0018).
 */
export function changeRole(ctx: AppContext, actor: Actor, userId: number, role: Role): UserView {
  const user = getUserRow(ctx, userId);
  if (!user) throw notFound('user');
  if (user.role === role) return toUserView(user);
  if (user.role === 'admin' && user.active && otherActiveAdmins(ctx, userId) === 0) {
    throw conflict('the last admin cannot be demoted');
  }
  const row = ctx.store.db.update(users).set({ role, updatedAt: ctx.clock.now() }).where(eq(users.id, userId)).returning().get();
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
export function setActive(ctx: AppContext, actor: Actor, userId: number, active: boolean): UserView {
  const user = getUserRow(ctx, userId);
  if (!user) throw notFound('user');
  if (user.active === active) return toUserView(user);
  if (!active && user.role === 'admin' && otherActiveAdmins(ctx, userId) === 0) {
    throw conflict('the last active admin cannot be deactivated');
  }
  const row = ctx.store.db.update(users).set({ active, updatedAt: ctx.clock.now() }).where(eq(users.id, userId)).returning().get();
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
  await ctx.store.command(() => {
    const user = getUserRow(ctx, userId);
    if (!user) throw notFound('user');
    ctx.store.db.update(users).set({ passwordHash, updatedAt: ctx.clock.now() }).where(eq(users.id, userId)).run();
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
  return (ctx.store.db.select({ n: count() }).from(users).get()?.n ?? 0) === 0;
}
