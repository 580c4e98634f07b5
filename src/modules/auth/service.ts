import { and, eq, isNull, ne } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import type { UserRow } from '../../db/entities/users.ts';
import { sessions, stations } from '../../db/schema.ts';
import type { Role } from '../../core/vocabulary.ts';
import { AppError, conflict } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import type { AuthUser } from '../../http/types.ts';
import { recordAudit } from '../audit/service.ts';
import type { LoginResult, UserView } from './schemas.ts';
import { admitLogin, admitRegistration } from './throttle.ts';

export function toUserView(u: Pick<UserRow, 'id' | 'username' | 'role' | 'active' | 'createdAt'>): UserView {
  return { id: u.id, username: u.username, role: u.role, active: u.active, created_at: iso(u.createdAt) };
}

export function findUserByName(ctx: Pick<AppContext, 'store'>, username: string): UserRow | undefined {
  return ctx.store.data.users.byName(username);
}

export function getUserRow(ctx: Pick<AppContext, 'store'>, id: number): UserRow | undefined {
  return ctx.store.data.users.byId(id);
}

export interface CreateUserInput {
  username: string;
  password: string;
  role: Role;
}

/** Creates a user; the caller decides which role is allowed. Hashing happens before the transaction. */
export async function createUser(
  ctx: AppContext,
  input: CreateUserInput,
  meta: { actorUserId?: number | null; clientIp?: string; requestId?: string } = {},
): Promise<UserView> {
  if (findUserByName(ctx, input.username)) throw conflict('username is taken');
  const passwordHash = await ctx.passwords.hash(input.password);
  return ctx.store.command((tx) => {
    if (tx.users.byName(input.username)) throw conflict('username is taken');
    const now = ctx.clock.now();
    const row = { id: ctx.store.ids.next('users'), username: input.username, passwordHash, role: input.role, active: true, createdAt: now, updatedAt: now };
    tx.users.insert(row);
    recordAudit(ctx, {
      action: 'user.create',
      actorUserId: meta.actorUserId ?? null,
      targetUserId: row.id,
      targetUsername: row.username,
      clientIp: meta.clientIp ?? null,
      requestId: meta.requestId ?? null,
      details: { role: row.role },
    });
    return toUserView(row);
  });
}

/** POST /auth/register: public sign-ups are always workers; an admin caller may choose the role. */
export function register(
  ctx: AppContext,
  input: { username: string; password: string; role?: Role | undefined },
  caller: Actor | undefined,
  meta: { clientIp: string; requestId: string },
): Promise<UserView> {
  if (caller?.role !== 'admin') admitRegistration(ctx.throttle, meta.clientIp, ctx.clock.now());
  const role = caller?.role === 'admin' && input.role ? input.role : 'worker';
  return createUser(ctx, { username: input.username, password: input.password, role }, { ...meta, actorUserId: caller?.userId ?? null });
}

const BAD_CREDENTIALS = 'invalid username or password';

/**
 * Verifies credentials and opens a session. Unknown users cost the same scrypt work as a wrong
 * password and get the same answer; attempts are throttled per username and per address.
 */
export async function login(
  ctx: AppContext,
  input: { username: string; password: string },
  meta: { clientIp: string; requestId: string },
): Promise<LoginResult> {
  const now = ctx.clock.now();
  const attempt = admitLogin(ctx.throttle, input.username, meta.clientIp, now);
  const user = findUserByName(ctx, input.username);
  const valid = user ? await ctx.passwords.verify(input.password, user.passwordHash) : await ctx.passwords.verifyDummy(input.password);
  if (!user || !valid || !user.active) {
    await ctx.store.command(() =>
      recordAudit(ctx, {
        action: 'login.failure',
        targetUserId: user?.id ?? null,
        targetUsername: input.username.slice(0, 64),
        clientIp: meta.clientIp,
        requestId: meta.requestId,
        details: { reason: !user ? 'unknown_user' : !valid ? 'bad_password' : 'inactive' },
      }),
    );
    throw new AppError('UNAUTHORIZED', BAD_CREDENTIALS);
  }
  attempt.succeeded();
  if (ctx.passwords.needsRehash?.(user.passwordHash)) await rehash(ctx, user.id, user.passwordHash, input.password);
  return openSession(ctx, user, now, meta);
}

/**
 * Issues a token and stores its session with the `login.success` audit row: after a password, or
 * after a badge and PIN on a station (`station`: the session ends when idle, ADR 0018). A station
 * revoked since the caller checked it (during the PIN's hashing) gets no session: FORBIDDEN.
 */
export async function openSession(
  ctx: AppContext,
  user: UserRow,
  now: number,
  meta: { clientIp: string; requestId: string },
  station?: { id: number; expiresAt: number },
): Promise<LoginResult> {
  const issued = await ctx.tokens.issue(user.id, now);
  const expiresAt = station ? Math.min(issued.expiresAt, station.expiresAt) : issued.expiresAt;
  await ctx.store.command(() => {
    if (station) {
      const live = ctx.store.db
        .select({ id: stations.id })
        .from(stations)
        .where(and(eq(stations.id, station.id), isNull(stations.revokedAt)))
        .get();
      if (!live) throw new AppError('FORBIDDEN', 'this browser is no longer a station');
    }
    ctx.store.db
      .insert(sessions)
      .values({ id: issued.sessionId, userId: user.id, createdAt: now, expiresAt, stationId: station?.id ?? null })
      .run();
    recordAudit(ctx, {
      action: 'login.success',
      actorUserId: user.id,
      targetUserId: user.id,
      targetUsername: user.username,
      clientIp: meta.clientIp,
      requestId: meta.requestId,
      ...(station ? { details: { method: 'badge', station_id: station.id } } : {}),
    });
  });
  return { access_token: issued.token, token_type: 'bearer', expires_in: ctx.tokens.ttlS, user: toUserView(user) };
}

/** After a successful login: a bcrypt hash from the old backend (or a weaker scrypt) becomes today's scrypt. */
async function rehash(ctx: AppContext, userId: number, old: string, password: string): Promise<void> {
  const passwordHash = await ctx.passwords.hash(password);
  // Only if unchanged meanwhile: a password change during the hashing wins.
  await ctx.store.command((tx) => tx.users.replacePassword(userId, old, passwordHash, ctx.clock.now()));
}

/** POST /auth/logout: the presented token stops working. Runs inside a command. */
export function logout(ctx: AppContext, actor: Actor & { sessionId: string }): void {
  ctx.store.db.update(sessions).set({ revokedAt: ctx.clock.now() }).where(eq(sessions.id, actor.sessionId)).run();
  recordAudit(ctx, {
    action: 'logout',
    actorUserId: actor.userId,
    targetUserId: actor.userId,
    clientIp: actor.clientIp ?? null,
    requestId: actor.requestId ?? null,
  });
}

/** Revokes every open session of a user, except `keep` (the caller's own). */
export function revokeSessions(ctx: AppContext, userId: number, keep?: string): void {
  const open = and(eq(sessions.userId, userId), isNull(sessions.revokedAt));
  ctx.store.db
    .update(sessions)
    .set({ revokedAt: ctx.clock.now() })
    .where(keep ? and(open, ne(sessions.id, keep)) : open)
    .run();
}

/** POST /auth/password: the caller changes its own password; its other tokens stop working. */
export async function changeOwnPassword(
  ctx: AppContext,
  actor: Actor & { sessionId: string },
  input: { current_password: string; new_password: string },
): Promise<void> {
  const user = getUserRow(ctx, actor.userId);
  if (!user || !(await ctx.passwords.verify(input.current_password, user.passwordHash))) {
    throw new AppError('UNAUTHORIZED', 'current password is wrong');
  }
  const passwordHash = await ctx.passwords.hash(input.new_password);
  await ctx.store.command((tx) => {
    tx.users.setPassword(user.id, passwordHash, ctx.clock.now());
    revokeSessions(ctx, user.id, actor.sessionId);
    recordAudit(ctx, {
      action: 'user.password_change',
      actorUserId: actor.userId,
      targetUserId: user.id,
      targetUsername: user.username,
      clientIp: actor.clientIp ?? null,
      requestId: actor.requestId ?? null,
    });
  });
}

/** Resolves the session behind a verified token: undefined when revoked, expired or the user is inactive. */
export function resolveSession(
  ctx: Pick<AppContext, 'store' | 'sessions'>,
  sessionId: string,
  userId: number,
  nowMs: number,
): Omit<AuthUser, 'sessionId'> | undefined {
  const row = ctx.store.read(() => ctx.sessions.get(sessionId));
  if (!row || row.id !== userId || !row.active || row.revoked_at !== null || row.expires_at <= nowMs) return undefined;
  return { id: row.id, username: row.username, role: row.role, active: true, created_at: row.created_at };
}
