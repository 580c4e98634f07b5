import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { AppError } from '../errors.ts';
import { logout, resolveSession } from '../modules/auth/service.ts';
import { badgeNumber, pin } from '../modules/auth/badge-schemas.ts';
import { signInByBadge } from '../modules/auth/badges.ts';
import { bindSessionToStation, stationByToken, stationOfSession, touchStationSession } from '../modules/stations/service.ts';
import { apiClient, type ApiFetch } from './api.ts';
import { type Frame, sameHost } from './frame.tsx';
import { LoginPage } from './pages/login.tsx';
import { idleMarkOf, type Sessions } from './session.ts';
import { t } from './strings.ts';

type C = Context<HttpEnv>;

const HOME: Record<string, string> = { worker: '/console/work', manager: '/console/board', planner: '/console/board', admin: '/console/board' };

// A badge reader types like a keyboard: Enter after the badge moves to the PIN, it does not submit.
// The page also signs the worker out when idle, and tells the server the worker is still there
// (the server ends the session on its own clock: docs/console.md, Station mode).
export const STATION_JS = `
(function () {
  var badge = document.getElementById('badge'), pin = document.getElementById('pin');
  if (badge && pin) badge.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter') return;
    e.preventDefault(); if (badge.value.trim()) pin.focus();
  });
  var idle = Number(document.body.dataset.idleS || 0);
  if (!idle) return;
  var timer, pinged = Date.now();
  function arm() { clearTimeout(timer); timer = setTimeout(function () { location.assign('/console/login?idle=' + encodeURIComponent(document.body.dataset.idleFor || '1')); }, idle * 1000); }
  function active() {
    arm();
    if (Date.now() - pinged < 5000) return;
    pinged = Date.now(); fetch('/console/alive', { credentials: 'same-origin' });
  }
  ['pointerdown', 'keydown', 'input'].forEach(function (type) { document.addEventListener(type, active, { passive: true, capture: true }); });
  arm();
})();
`;

/** Sent by the page's script on requests the user did not make (assets.ts); they do not count as use. */
export const BACKGROUND_HEADER = 'x-gw-background';

const minutes = (s: number) => (s % 60 === 0 ? `${s / 60} minute${s === 60 ? '' : 's'}` : `${s} seconds`);

/**
 * Station mode in the console (ADR 0018): the sign-in page by badge and PIN on a marked browser,
 * idle sign-out (server side: every page or action moves the session's expiry on; client side: a
 * timer), and sign-out after Done.
 */
export function createStationConsole(ctx: AppContext, fetchApi: ApiFetch, frame: Frame, sessions: Sessions) {
  const signedOutAfterDone = new WeakSet<C>();
  const sessionOf = async (c: C) => {
    const token = sessions.token(c);
    const now = ctx.clock.now();
    const claims = token ? await ctx.tokens.verify(token, now) : undefined;
    if (!token || !claims || !resolveSession(ctx, claims.sessionId, claims.userId, now)) return undefined;
    return { token, sessionId: claims.sessionId, userId: claims.userId };
  };
  const station = (c: C) => stationByToken(ctx, sessions.stationToken(c));

  /**
   * Every console page or action of a station session starts its idle time again: not the live
   * stream, not assets, and not the page's own background fetches (BACKGROUND_HEADER: the live
   * refresh and the chart), which would keep a tablet left on My work signed in for ever.
   */
  const touch: MiddlewareHandler<HttpEnv> = async (c, next) => {
    const path = c.req.path;
    const automatic = c.req.header(BACKGROUND_HEADER) !== undefined || path.startsWith('/console/events') || path.startsWith('/console/assets/');
    if (!automatic && path !== '/console/login') {
      const s = await sessionOf(c);
      if (s) await touchStationSession(ctx, s.sessionId);
    }
    return next();
  };

  const loginPage = async (c: C) => {
    let flash = sessions.takeFlash(c);
    const idle = c.req.query('idle') !== undefined;
    const s = idle ? await sessionOf(c) : undefined;
    // The page's idle timer sent the browser here: a station session ends now, not a few seconds
    // later, and a cookie whose session is already over is cleared. A live ordinary session is
    // left alone, and so is a request without the cookie (a cross-site link: SameSite=Strict keeps
    // the cookie back, and clearing it would sign the user out): ?idle=1 signs nobody out.
    // Only the session the page's timer ran for (its mark): a timer left on an earlier worker's page
    // (another tab, a page brought back by Back) must not sign out the worker at the tablet now.
    const own = s !== undefined && c.req.query('idle') === idleMarkOf(sessions.csrfFor(s.token));
    const onStation = own && s !== undefined && Boolean(stationOfSession(ctx, s.sessionId));
    if (idle && (onStation || (s === undefined && sessions.token(c) !== undefined))) {
      if (s && onStation) await ctx.store.command(() => logout(ctx, { userId: s.userId, role: 'worker', sessionId: s.sessionId }));
      sessions.end(c);
      flash ??= { kind: 'ok', text: t.station.idleSignedOut(minutes(ctx.config.stationIdleS)) };
    }
    return c.html(<LoginPage flash={flash} station={station(c)?.name} />);
  };

  /** POST /console/login with a badge: only on a station; throttled and audited like a password. */
  const badgeLogin = async (c: C, raw: Record<string, unknown>) => {
    const origin = c.req.header('origin');
    if (origin !== undefined && !sameHost(origin, c.req.header('host'))) return frame.errorPage(c, 403, t.formExpired);
    const at = station(c);
    if (!at) return c.html(<LoginPage flash={{ kind: 'error', text: t.station.notStation }} />, 403);
    const badge = badgeNumber.safeParse(typeof raw.badge === 'string' ? raw.badge.trim() : '');
    const code = pin.safeParse(raw.pin);
    const fail = (text: string, status: 401 | 429 | 503) => c.html(<LoginPage flash={{ kind: 'error', text }} station={at.name} />, status);
    if (!badge.success || !code.success) return fail(t.station.badgeFailed, 401);
    try {
      const res = await signInByBadge(ctx, at.id, { badge: badge.data, pin: code.data }, { clientIp: c.get('clientIp'), requestId: c.get('requestId') });
      sessions.start(c, res.access_token, res.expires_in);
      return c.redirect(HOME[res.user.role] ?? '/console/machines', 303);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'RATE_LIMITED') {
        c.header('Retry-After', String(err.retryAfterS ?? 60));
        return fail(t.signInThrottled(String(err.retryAfterS ?? 60)), 429);
      }
      // The station was revoked while the PIN was checked: no session.
      if (err.code === 'FORBIDDEN') return c.html(<LoginPage flash={{ kind: 'error', text: t.station.notStation }} />, 403);
      return err.code === 'UNAUTHORIZED' ? fail(t.station.badgeFailed, 401) : fail(`${t.apiFailed} ${err.message}`, 503);
    }
  };

  /** A password sign-in on a station is a station session too: it ends when idle. */
  const bindPasswordSession = async (c: C, token: string, at: { id: number } | undefined = station(c)) => {
    const claims = at ? await ctx.tokens.verify(token, ctx.clock.now()) : undefined;
    if (at && claims) await bindSessionToStation(ctx, claims.sessionId, at.id);
  };

  /** Marks this browser as the station just created; the admin's own session there becomes a station session (ends when idle). */
  const markThisBrowser = async (c: C, station: { id: number; token: string }) => {
    sessions.markStation(c, station.token);
    const token = sessions.token(c);
    if (token) await bindPasswordSession(c, token, station);
  };

  /** After Done on My work, a station session ends: the tablet is free for the next worker. */
  const signOutAfterDone = async (c: C) => {
    const s = await sessionOf(c);
    if (!s || !stationOfSession(ctx, s.sessionId)) return;
    await apiClient(fetchApi, c, s.token).post('/auth/logout');
    sessions.end(c);
    signedOutAfterDone.add(c);
  };
  const backAfterDone = (c: C) => (signedOutAfterDone.has(c) ? '/console/login' : '/console/work');
  const doneText = (c: C, text: string | undefined) => (signedOutAfterDone.has(c) ? `${text ?? ''} ${t.station.doneSignedOut}`.trim() : text);

  /** The idle time the page's script counts down, for a station session (undefined otherwise). */
  const idleOf = (token: string): number | undefined => {
    const claims = ctx.tokens.verified(token, ctx.clock.now());
    return claims && stationOfSession(ctx, claims.sessionId) ? ctx.config.stationIdleS : undefined;
  };

  const register = (app: Hono<HttpEnv>) => {
    app.get('/console/assets/station.js', (c) => c.body(STATION_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));
    // The page's script says the worker is still there (the touch middleware did the work).
    app.get('/console/alive', async (c) => c.body(null, (await sessionOf(c)) ? 204 : 401));
    // A form with a badge field is a station sign-in; anything else goes on to the password sign-in.
    app.post('/console/login', async (c, next) => {
      const raw = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      return raw.badge !== undefined ? badgeLogin(c, raw) : next();
    });
  };

  return {
    touch,
    loginPage,
    register,
    bindPasswordSession,
    signOutAfterDone,
    backAfterDone,
    doneText,
    idleOf,
    station,
    markThisBrowser,
    unmarkThisBrowser: (c: C) => sessions.unmarkStation(c),
  };
}

export type StationConsole = ReturnType<typeof createStationConsole>;
