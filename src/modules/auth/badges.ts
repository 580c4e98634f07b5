import { and, asc, eq, isNotNull, isNull, ne } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page, type PageQuery } from '../../db/keyset.ts';
import { sessions, userBadges, users } from '../../db/schema.ts';
import { AppError, conflict, notFound, validation } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { recordAudit } from '../audit/service.ts';
import type { LoginResult } from './schemas.ts';
import { getUserRow, openSession } from './service.ts';
import { admitLogin } from './throttle.ts';
import type { BadgeView } from './badge-schemas.ts';

type BadgeRow = typeof userBadges.$inferSelect;

const toBadgeView = (b: BadgeRow): BadgeView => ({ user_id: b.userId, badge: b.badge, pin_set: b.pinHash !== null, updated_at: iso(b.updatedAt) });

/** The active user (other than `exceptUserId`) holding this badge, if any. */
function activeHolder(ctx: Pick<AppContext, 'store'>, badge: string, exceptUserId: number) {
  return ctx.store.db
    .select({ id: users.id, username: users.username })
    .from(userBadges)
    .innerJoin(users, eq(users.id, userBadges.userId))
    .where(and(eq(userBadges.badge, badge), eq(users.active, true), ne(users.id, exceptUserId)))
    .get();
}

/** Ends the user's open station sessions (a new PIN, a badge removed, a role no longer worker). Inside a command. */
function endStationSessions(ctx: AppContext, userId: number): void {
  const open = and(eq(sessions.userId, userId), isNotNull(sessions.stationId), isNull(sessions.revokedAt));
  ctx.store.db.update(sessions).set({ revokedAt: ctx.clock.now() }).where(open).run();
}

/**
 * Inside the command that changes a user's role away from worker: the badge and PIN go, and the
 * user's station sessions end (a short PIN must never open a planner's, manager's or admin's session).
 * Returns whether there was a badge.
 */
export function dropBadgeOfNonWorker(ctx: AppContext, userId: number): boolean {
  const dropped = ctx.store.db.delete(userBadges).where(eq(userBadges.userId, userId)).returning({ userId: userBadges.userId }).all().length > 0;
  endStationSessions(ctx, userId);
  return dropped;
}

/**
 * PUT /auth/users/{id}/badge: an admin sets (or with badge null removes) a worker's badge number
 * and PIN. Only workers have badges: a PIN of 4 digits is too short to guard any other role. The
 * badge is unique among active users; the PIN is hashed like a password, before the transaction.
 * A new PIN, or removing the badge, ends the user's station sessions.
 */
export async function setBadge(
  ctx: AppContext,
  actor: Actor,
  userId: number,
  input: { badge: string | null; pin?: string | undefined },
): Promise<BadgeView | null> {
  const user = getUserRow(ctx, userId);
  if (!user) throw notFound('user');
  if (input.badge !== null && user.role !== 'worker') {
    throw conflict(user.role === 'machine' ? 'a device account cannot have a badge' : `only workers can have a badge; ${user.username} is ${user.role}`);
  }
  if (input.badge === null && input.pin !== undefined) throw validation('pin', 'a PIN needs a badge');
  const pinHash = input.pin === undefined ? undefined : await ctx.passwords.hash(input.pin);
  return ctx.store.command(() => {
    const current = ctx.store.db.select().from(userBadges).where(eq(userBadges.userId, userId)).get();
    const audit = (details: Record<string, unknown>) =>
      recordAudit(ctx, {
        action: 'user.badge_set',
        actorUserId: actor.userId,
        targetUserId: userId,
        targetUsername: user.username,
        clientIp: actor.clientIp ?? null,
        requestId: actor.requestId ?? null,
        details,
      });
    if (input.badge === null) {
      if (current) {
        ctx.store.db.delete(userBadges).where(eq(userBadges.userId, userId)).run();
        audit({ badge: null });
      }
      endStationSessions(ctx, userId);
      return null;
    }
    const holder = activeHolder(ctx, input.badge, userId);
    if (holder) throw conflict(`badge ${input.badge} belongs to ${holder.username}`);
    if (pinHash === undefined && !current?.pinHash) throw validation('pin', 'required: this user has no PIN yet');
    const values = { badge: input.badge, pinHash: pinHash ?? current?.pinHash ?? null, updatedAt: ctx.clock.now() };
    const row = ctx.store.db
      .insert(userBadges)
      .values({ userId, ...values })
      .onConflictDoUpdate({ target: userBadges.userId, set: values })
      .returning()
      .get();
    if (pinHash !== undefined) endStationSessions(ctx, userId);
    audit({ badge: input.badge, pin_changed: pinHash !== undefined });
    return toBadgeView(row);
  });
}

/**
 * Inside the command that reactivates a user: a badge given to another active user meanwhile stays
 * with that user, and the returning one has none (badges are unique among active users).
 */
export function dropBadgeHeldByOthers(ctx: AppContext, userId: number): boolean {
  const mine = ctx.store.db.select({ badge: userBadges.badge }).from(userBadges).where(eq(userBadges.userId, userId)).get();
  if (!mine || !activeHolder(ctx, mine.badge, userId)) return false;
  ctx.store.db.delete(userBadges).where(eq(userBadges.userId, userId)).run();
  return true;
}

/** GET /auth/badges: every badge, by user id (never the PIN). */
export function listBadges(ctx: AppContext, q: PageQuery): Page<BadgeView> {
  const { items, nextCursor } = ctx.store.read(() =>
    keysetPage(q, {
      keys: [userBadges.userId],
      direction: 'asc',
      fetch: (after, limit) => ctx.store.db.select().from(userBadges).where(after).orderBy(asc(userBadges.userId)).limit(limit).all(),
      keyOf: (b) => [b.userId],
    }),
  );
  return { items: items.map(toBadgeView), nextCursor };
}

const BAD_BADGE = 'invalid badge or PIN';

/**
 * Signs a worker in by badge and PIN on a station (the caller has checked the station cookie):
 * throttled and audited like a password login, with the badge as the name in a key space of its
 * own; an unknown badge costs the same hashing. The session ends when idle (touchStationSession).
 */
export async function signInByBadge(
  ctx: AppContext,
  stationId: number,
  input: { badge: string; pin: string },
  meta: { clientIp: string; requestId: string },
): Promise<LoginResult> {
  const now = ctx.clock.now();
  const attempt = admitLogin(ctx.throttle, `badge:${input.badge}`, meta.clientIp, now);
  const matches = ctx.store.read(() =>
    ctx.store.db
      .select({ user: users, pinHash: userBadges.pinHash })
      .from(userBadges)
      .innerJoin(users, eq(users.id, userBadges.userId))
      .where(and(eq(userBadges.badge, input.badge), eq(users.active, true)))
      .limit(2)
      .all(),
  );
  // Two active holders (a user reactivated after the badge was given to another) match nobody.
  const found = matches.length === 1 ? matches[0] : undefined;
  const valid = found?.pinHash ? await ctx.passwords.verify(input.pin, found.pinHash) : await ctx.passwords.verifyDummy(input.pin);
  // Only workers sign in by badge (a badge set before that rule opens nothing for another role).
  if (!found || !valid || found.user.role !== 'worker') {
    await ctx.store.command(() =>
      recordAudit(ctx, {
        action: 'login.failure',
        targetUserId: found?.user.id ?? null,
        targetUsername: found?.user.username ?? null,
        clientIp: meta.clientIp,
        requestId: meta.requestId,
        details: { method: 'badge', station_id: stationId, reason: !found ? 'unknown_badge' : 'bad_pin' },
      }),
    );
    throw new AppError('UNAUTHORIZED', BAD_BADGE);
  }
  attempt.succeeded();
  return openSession(ctx, found.user, now, meta, { id: stationId, expiresAt: now + ctx.config.stationIdleS * 1000 });
}
