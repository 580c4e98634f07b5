import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { Role } from '../core/vocabulary.ts';
import type { ApiData } from '../client/types.ts';
import { type Flash, idleMarkOf } from './session.ts';
import { t } from './strings.ts';

/** The signed-in user as the console needs it (from GET /auth/me). */
export type ConsoleUser = Pick<ApiData<'GET /auth/me'>, 'id' | 'username' | 'role'>;

/** What every page needs beside its own content. */
export interface PageFrame {
  title: string;
  user?: ConsoleUser;
  csrf?: string;
  flash?: Flash | undefined;
  current?: string;
  live?: string;
  /** A station session's idle time (s): the page signs out by itself after it (station mode). */
  idleS?: number | undefined;
  /** Server time of the render: the page's script ages values against it (stale marking). */
  now?: number;
}

/** A value older than this is shown as stale: the machine may have stopped reporting. */
export const STALE_AFTER_MS = 2 * 60_000;

const NAV: { href: string; label: string; roles: Role[] }[] = [
  { href: '/console/work', label: t.navWork, roles: ['worker', 'planner', 'admin'] },
  { href: '/console/board', label: t.navBoard, roles: ['manager', 'planner', 'admin'] },
  { href: '/console/machines', label: t.navMachines, roles: ['worker', 'manager', 'planner', 'admin'] },
  { href: '/console/system', label: t.navSystem, roles: ['manager', 'admin'] },
  { href: '/console/users', label: t.navUsers, roles: ['admin'] },
];

export function Layout(props: PageFrame & { children?: Child }) {
  const { user } = props;
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · ${t.appName}`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/console.js" defer />
        {props.idleS !== undefined && <script src="/console/assets/station.js" defer />}
      </head>
      <body
        data-live={props.live}
        data-idle-s={props.idleS === undefined ? undefined : String(props.idleS)}
        data-idle-for={props.idleS === undefined || props.csrf === undefined ? undefined : idleMarkOf(props.csrf)}
        data-now={props.now === undefined ? undefined : String(props.now)}
        data-stale-ms={props.now === undefined ? undefined : String(STALE_AFTER_MS)}
        data-stale-label={props.now === undefined ? undefined : t.qualityStale}
      >
        <header>
          <strong>{t.appName}</strong>
          {user && (
            <nav aria-label="Main">
              {NAV.filter((n) => n.roles.includes(user.role)).map((n) => (
                <a href={n.href} aria-current={props.current === n.href ? 'page' : undefined}>
                  {n.label}
                </a>
              ))}
            </nav>
          )}
          {user && (
            <form method="post" action="/console/logout" class="who">
              <span>
                {user.username} ({user.role}){' '}
              </span>
              <input type="hidden" name="csrf" value={props.csrf} />
              <button type="submit">{t.signOut}</button>
            </form>
          )}
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.flash && (
            <p class={`flash ${props.flash.kind}`} role={props.flash.kind === 'error' ? 'alert' : 'status'}>
              {props.flash.text}
            </p>
          )}
          {props.children}
        </main>
      </body>
    </html>
  );
  // Standards mode: without a doctype Chromium renders in quirks mode (tables drop to 16 px text).
  return (
    <>
      {raw('<!DOCTYPE html>')}
      {page}
    </>
  );
}

/** Hidden fields every form carries: the session's CSRF token and this form's idempotency key. */
export function FormGuard(props: { csrf: string | undefined; idem?: string }) {
  return (
    <>
      <input type="hidden" name="csrf" value={props.csrf} />
      {props.idem && <input type="hidden" name="idem" value={props.idem} />}
    </>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`status ${props.status}`}>{props.status.replace('_', ' ')}</span>;
}
