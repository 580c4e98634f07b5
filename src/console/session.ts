import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { HttpEnv } from '../http/types.ts';

export const SESSION_COOKIE = 'gw_session';
const FLASH_COOKIE = 'gw_flash';
/** Marks a browser as a floor station (ADR 0018); holds the station's token. */
export const STATION_COOKIE = 'gw_station';
/** Browsers cap a cookie's lifetime at 400 days; a station is marked again after that. */
const STATION_MAX_AGE_S = 400 * 24 * 3600;

/**
 * Names the session a station page's idle timer was started for (`/console/login?idle=<mark>`),
 * so a timer left on a page of an earlier worker (a second tab, a page brought back by Back)
 * cannot end the session of the worker who signed in since. A hash of the page's CSRF token:
 * it ends only its own session, so it may appear in a URL and an access log.
 */
export function idleMarkOf(csrf: string): string {
  return createHash('sha256').update(`idle:${csrf}`).digest('base64url').slice(0, 22);
}

/** Message shown once on the next page (post/redirect/get). */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

/**
 * Session cookie and CSRF tokens. The cookie holds the API's own access token, so the API's
 * session checks (logout, deactivation, role change) decide every request. The CSRF token is an
 * HMAC of that token under a per-process key: per session, nothing stored; a restart only
 * invalidates forms already on screen.
 */
export function createSessions(trustProxy: boolean) {
  const key = randomBytes(32);
  const secure = (c: Context<HttpEnv>) => new URL(c.req.url).protocol === 'https:' || (trustProxy && c.req.header('x-forwarded-proto') === 'https');
  const cookieOpts = (c: Context<HttpEnv>) => ({ httpOnly: true, sameSite: 'Strict' as const, secure: secure(c), path: '/' });

  return {
    token: (c: Context<HttpEnv>): string | undefined => getCookie(c, SESSION_COOKIE),
    start: (c: Context<HttpEnv>, token: string, maxAgeS: number) => setCookie(c, SESSION_COOKIE, token, { ...cookieOpts(c), maxAge: maxAgeS }),
    end: (c: Context<HttpEnv>) => deleteCookie(c, SESSION_COOKIE, { path: '/' }),
    stationToken: (c: Context<HttpEnv>): string | undefined => getCookie(c, STATION_COOKIE),
    markStation: (c: Context<HttpEnv>, token: string) => setCookie(c, STATION_COOKIE, token, { ...cookieOpts(c), maxAge: STATION_MAX_AGE_S }),
    unmarkStation: (c: Context<HttpEnv>) => deleteCookie(c, STATION_COOKIE, { path: '/' }),
    csrfFor: (token: string): string => createHmac('sha256', key).update(`csrf:${token}`).digest('base64url'),
    csrfValid(token: string, presented: unknown): boolean {
      if (typeof presented !== 'string') return false;
      const expected = Buffer.from(this.csrfFor(token));
      const given = Buffer.from(presented);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
    flash: (c: Context<HttpEnv>, flash: Flash) => setCookie(c, FLASH_COOKIE, encodeURIComponent(JSON.stringify(flash)), { ...cookieOpts(c), maxAge: 60 }),
    takeFlash(c: Context<HttpEnv>): Flash | undefined {
      const raw = getCookie(c, FLASH_COOKIE);
      if (!raw) return undefined;
      deleteCookie(c, FLASH_COOKIE, { path: '/' });
      try {
        const parsed = JSON.parse(decodeURIComponent(raw)) as Partial<Flash>;
        if ((parsed.kind === 'ok' || parsed.kind === 'error') && typeof parsed.text === 'string') return { kind: parsed.kind, text: parsed.text.slice(0, 500) };
      } catch {
        // A mangled flash cookie is simply dropped.
      }
      return undefined;
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

/** A fresh idempotency key for one rendered form: a double tap resends it and the API applies once. */
export const formKey = (): string => randomUUID();
