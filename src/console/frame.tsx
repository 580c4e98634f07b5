import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { Role } from '../core/vocabulary.ts';
import type { HttpEnv } from '../http/types.ts';
import { type ApiClient, type ApiFetch, type ApiResult, ApiUnavailable, apiClient } from './api.ts';
import { type ConsoleUser, Layout } from './layout.tsx';
import type { Flash, Sessions } from './session.ts';
import { t } from './strings.ts';

type C = Context<HttpEnv>;
const HUMAN: Role[] = ['admin', 'planner', 'manager', 'worker'];
export const ANY_HUMAN = HUMAN;

// Compared by host: behind a TLS proxy the scheme the browser used differs from ours.
export function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** What a page handler gets: an API client acting as the signed-in user. */
export interface PageInput {
  api: ApiClient;
  user: ConsoleUser;
  csrf: string;
  flash: Flash | undefined;
  /** A station session's idle time in seconds: the page signs out by itself (station mode). */
  idleS?: number | undefined;
}

/** Builds the page and action wrappers shared by every console route. */
export function createFrame(fetchApi: ApiFetch, sessions: Sessions, idleOf: (token: string) => number | undefined = () => undefined) {
  const toSignIn = (c: C, flash?: Flash) => {
    sessions.end(c);
    if (flash) sessions.flash(c, flash);
    return c.redirect('/console/login', 303);
  };

  const errorPage = (c: C, status: 403 | 404 | 503, text: string, input?: PageInput, detail?: string) =>
    c.html(
      <Layout title={text} user={input?.user} csrf={input?.csrf}>
        {detail ? <p>{detail}</p> : null}
        <p>
          <a href="/">{t.appName}</a>
        </p>
      </Layout>,
      status,
    );

  /** A GET page: signed in (else sign-in), role allowed by the console's matrix (else a 403 page). */
  const page =
    (roles: Role[], render: (c: C, input: PageInput) => Promise<Response>) =>
    async (c: C): Promise<Response> => {
      const token = sessions.token(c);
      if (!token) return toSignIn(c);
      // A read the gateway cannot answer (a failing disk) is a 503 page: the session stays, and
      // no list is shown empty in place of data it could not read.
      const api = apiClient(fetchApi, c, token, { failReads: true });
      let input: PageInput | undefined;
      try {
        const me = await api.get('/auth/me');
        if (!me.ok) return toSignIn(c, { kind: 'error', text: t.sessionEnded });
        input = { api, user: me.data, csrf: sessions.csrfFor(token), flash: sessions.takeFlash(c), idleS: idleOf(token) };
        if (!roles.includes(me.data.role)) return errorPage(c, 403, t.forbidden, input);
        return await render(c, input);
      } catch (err) {
        if (!(err instanceof ApiUnavailable)) throw err;
        if (err.retryAfter) c.header('Retry-After', err.retryAfter);
        return errorPage(c, 503, t.unavailable, input, err.message);
      }
    };

  /**
   * A form POST: same-origin, signed in, CSRF token valid; then one API call whose answer becomes
   * a flash message on the page the form came from (post/redirect/get, so reload never resends).
   */
  const action =
    (back: string | ((c: C) => string), run: (c: C, api: ApiClient, form: Record<string, string>) => Promise<ApiResult<unknown> & { okText?: string }>) =>
    async (c: C): Promise<Response> => {
      const token = sessions.token(c);
      const origin = c.req.header('origin');
      if (origin !== undefined && !sameHost(origin, c.req.header('host'))) return errorPage(c, 403, t.formExpired);
      const raw = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const form: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') form[k] = v;
      if (!token) return toSignIn(c);
      if (!sessions.csrfValid(token, form.csrf)) return errorPage(c, 403, t.formExpired);
      const api = apiClient(fetchApi, c, token);
      const result = await run(c, api, form);
      if (!result.ok && result.status === 401) return toSignIn(c, { kind: 'error', text: t.sessionEnded });
      sessions.flash(c, result.ok ? { kind: 'ok', text: result.okText ?? '' } : { kind: 'error', text: `${t.apiFailed} ${result.message}` });
      return c.redirect(typeof back === 'string' ? back : back(c), 303);
    };

  return { page, action, errorPage, toSignIn };
}

export type Frame = ReturnType<typeof createFrame>;
export type { Child };
