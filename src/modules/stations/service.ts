import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, gt, isNotNull, isNull, lt } from 'drizzle-orm';
import type { Actor, AppContext } from '../../context.ts';
import { keysetPage, type Page, type PageQuery } from '../../db/keyset.ts';
import { sessions, stations } from '../../db/schema.ts';
import { notFound } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { recordAudit } from '../audit/service.ts';
import type { CreatedStation, StationView } from './schemas.ts';

type StationRow = typeof stations.$inferSelect;

/**
 * A station session's expiry is moved on at most this often (each write clears the session cache);
 * the page reports typing every 5 s, so the server's expiry trails the page's by at most about 10 s.
 */
export const TOUCH_EVERY_MS = 5_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function toStationView(s: StationRow): StationView {
  return { id: s.id, name: s.name, created_by: s.createdBy, created_at: iso(s.createdAt), revoked_at: s.revokedAt === null ? null : iso(s.revokedAt) };
}

/** POST /stations, inside a command: a new station and its token (shown once; only its hash is kept). */
export function createStation(ctx: AppContext, actor: Actor, name: string): CreatedStation {
  const token = randomBytes(32).toString('base64url');
  const row = ctx.store.db
    .insert(stations)
    .values({ id: ctx.store.ids.next('stations'), name, tokenHash: hashToken(token), createdBy: actor.userId, createdAt: ctx.clock.now() })
    .returning()
    .get();
  recordAudit(ctx, {
    action: 'station.create',
    actorUserId: actor.userId,
    clientIp: actor.clientIp ?? null,
    requestId: actor.requestId ?? null,
    details: { station_id: row.id, name },
  });
  return { station: toStationView(row), token };
}

/** GET /stations: every station, revoked ones too, by id. */
export function listStations(ctx: AppContext, q: PageQuery): Page<StationView> {
  const { items, nextCursor } = ctx.store.read(() =>
    keysetPage(q, {
      keys: [stations.id],
      direction: 'asc',
      fetch: (after, limit) => ctx.store.db.select().from(stations).where(after).orderBy(asc(stations.id)).limit(limit).all(),
      keyOf: (s) => [s.id],
    }),
  );
  return { items: items.map(toStationView), nextCursor };
}

/** POST /stations/{id}/revoke, inside a command: the cookie stops working and every session opened there ends. */
export function revokeStation(ctx: AppContext, actor: Actor, stationId: number): StationView {
  const row = ctx.store.db.select().from(stations).where(eq(stations.id, stationId)).get();
  if (!row) throw notFound('station');
  if (row.revokedAt !== null) return toStationView(row);
  const now = ctx.clock.now();
  const revoked = ctx.store.db.update(stations).set({ revokedAt: now }).where(eq(stations.id, stationId)).returning().get();
  ctx.store.db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.stationId, stationId), isNull(sessions.revokedAt)))
    .run();
  recordAudit(ctx, {
    action: 'station.revoke',
    actorUserId: actor.userId,
    clientIp: actor.clientIp ?? null,
    requestId: actor.requestId ?? null,
    details: { station_id: stationId, name: row.name },
  });
  return toStationView(revoked);
}

/** The station whose token this is, unless unknown or revoked. */
export function stationByToken(ctx: Pick<AppContext, 'store'>, token: string | undefined): { id: number; name: string } | undefined {
  if (!token || token.length > 256) return undefined;
  const row = ctx.store.read(() =>
    ctx.store.db
      .select({ id: stations.id, name: stations.name })
      .from(stations)
      .where(and(eq(stations.tokenHash, hashToken(token)), isNull(stations.revokedAt)))
      .get(),
  );
  return row;
}

/**
 * Makes a just-opened session a station session: it ends `STATION_IDLE_SIGNOUT_S` from now unless
 * a page or an action moves it on (touchStationSession).
 */
export async function bindSessionToStation(ctx: AppContext, sessionId: string, stationId: number): Promise<void> {
  const expiresAt = ctx.clock.now() + ctx.config.stationIdleS * 1000;
  await ctx.store.command(() => {
    ctx.store.db.update(sessions).set({ stationId, expiresAt }).where(eq(sessions.id, sessionId)).run();
  });
}

/**
 * A page or an action of a station session: its idle expiry starts again. A session already
 * expired or revoked stays so; the row is written at most every TOUCH_EVERY_MS.
 */
export async function touchStationSession(ctx: AppContext, sessionId: string): Promise<void> {
  const now = ctx.clock.now();
  const expiresAt = now + ctx.config.stationIdleS * 1000;
  const row = ctx.store.read(() => ctx.sessions.get(sessionId));
  if (!row || row.station_id === null || row.revoked_at !== null || row.expires_at <= now || row.expires_at > expiresAt - TOUCH_EVERY_MS) return;
  await ctx.store.command(() => {
    ctx.store.db
      .update(sessions)
      .set({ expiresAt })
      .where(
        and(
          eq(sessions.id, sessionId),
          isNotNull(sessions.stationId),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
          lt(sessions.expiresAt, expiresAt),
        ),
      )
      .run();
  });
}

/** The station a session was opened on (null: an ordinary session), or undefined for an unknown session. */
export function stationOfSession(ctx: Pick<AppContext, 'sessions' | 'store'>, sessionId: string): number | null | undefined {
  return ctx.store.read(() => ctx.sessions.get(sessionId))?.station_id;
}
