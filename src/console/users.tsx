import type { Hono } from 'hono';
import type { HttpEnv } from '../http/types.ts';
import type { ApiItem } from '../client/types.ts';
import type { Frame } from './frame.tsx';
import { FormGuard, Layout } from './layout.tsx';
import { formKey } from './session.ts';
import type { StationConsole } from './station.tsx';
import { StationsCard } from './stations-card.tsx';
import { t } from './strings.ts';

type UserRow = ApiItem<'GET /auth/users'>;
type BadgeRow = ApiItem<'GET /auth/badges'>;

/** The roles a form offers, the usual one first (typed by the API's user, so only real roles). */
const ROLES: readonly UserRow['role'][] = ['worker', 'manager', 'planner', 'admin', 'machine'];

function RoleSelect(props: { id: string; value?: string }) {
  return (
    <select id={props.id} name="role">
      {ROLES.map((r) => (
        <option value={r} selected={r === props.value}>
          {r}
        </option>
      ))}
    </select>
  );
}

/** Badge number and PIN for station sign-in (docs/console.md, Station mode); device accounts have none. */
function BadgeForm(props: { u: UserRow; badge: BadgeRow | undefined; csrf: string }) {
  const { u, badge, csrf } = props;
  return (
    <form method="post" action={`/console/users/${u.id}/badge`} class="actions" aria-label={`${t.station.badgeAndPin}: ${u.username}`}>
      <FormGuard csrf={csrf} />
      <p style="flex-basis:100%;margin:0">{badge ? t.station.badgeSet(badge.badge, badge.pin_set) : t.station.noBadge}</p>
      <div>
        <label for={`badge-${u.id}`}>{t.station.badge}</label>
        <input id={`badge-${u.id}`} name="badge" value={badge?.badge} maxlength={32} pattern="[A-Za-z0-9]{1,32}" autocomplete="off" size={10} />
      </div>
      <div>
        <label for={`pin-${u.id}`}>
          {t.station.newPin} <small>({badge?.pin_set ? t.station.keepPin : t.station.pinHint})</small>
        </label>
        <input id={`pin-${u.id}`} name="pin" type="password" inputmode="numeric" pattern="[0-9]{4,8}" autocomplete="new-password" size={8} />
      </div>
      <button type="submit" class="secondary">
        {t.station.saveBadge}
      </button>
      {badge && (
        <button type="submit" name="remove" value="1" class="secondary">
          {t.station.removeBadge}
        </button>
      )}
    </form>
  );
}

function UserCard(props: { u: UserRow; badge: BadgeRow | undefined; csrf: string }) {
  const { u, csrf } = props;
  return (
    <section class="card" data-user={u.id} aria-label={u.username}>
      <h2>
        {u.username} <span class={`status ${u.active ? 'running' : 'offline'}`}>{u.active ? t.active : t.inactive}</span>
      </h2>
      <form method="post" action={`/console/users/${u.id}/role`} class="actions">
        <FormGuard csrf={csrf} />
        <div>
          <label for={`role-${u.id}`}>{t.role}</label>
          <RoleSelect id={`role-${u.id}`} value={u.role} />
        </div>
        <button type="submit" class="secondary">
          {t.setRole}
        </button>
      </form>
      {u.active ? (
        // Deactivating signs the user out everywhere: a page of its own asks first (works without JavaScript).
        <p class="actions">
          <a class="button danger" href={`/console/users/${u.id}/deactivate`}>
            {t.deactivate}…
          </a>
        </p>
      ) : (
        <form method="post" action={`/console/users/${u.id}/active`} class="actions">
          <FormGuard csrf={csrf} />
          <input type="hidden" name="active" value="true" />
          <button type="submit">{t.activate}</button>
        </form>
      )}
      <form method="post" action={`/console/users/${u.id}/password`} class="actions">
        <FormGuard csrf={csrf} idem={formKey()} />
        <div>
          <label for={`pw-${u.id}`}>{t.newPassword}</label>
          <input id={`pw-${u.id}`} name="new_password" type="password" autocomplete="new-password" minlength={8} required />
        </div>
        <button type="submit" class="secondary">
          {t.resetPassword}
        </button>
      </form>
      {u.role === 'worker' && <BadgeForm u={u} badge={props.badge} csrf={csrf} />}
    </section>
  );
}

/** Admin only: create users, change role, deactivate or reactivate, reset a password, badges and stations. */
export function registerUsers(app: Hono<HttpEnv>, frame: Frame, station: StationConsole): void {
  app.get(
    '/console/users',
    frame.page(['admin'], async (c, input) => {
      const res = await input.api.get('/auth/users', { query: { limit: 500 } });
      const badges = await input.api.get('/auth/badges', { query: { limit: 500 } });
      const stations = await input.api.get('/stations', { query: { limit: 500 } });
      const badgeOf = new Map((badges.ok ? badges.data : []).map((b) => [b.user_id, b]));
      const names = new Map((res.ok ? res.data : []).map((u) => [u.id, u.username]));
      return c.html(
        <Layout title={t.users} {...input} current="/console/users">
          <form method="post" action="/console/users" class="card actions">
            <FormGuard csrf={input.csrf} idem={formKey()} />
            <div>
              <label for="new-username">{t.username}</label>
              <input id="new-username" name="username" required minlength={3} maxlength={64} autocomplete="off" />
            </div>
            <div>
              <label for="new-password">{t.password}</label>
              <input id="new-password" name="password" type="password" required minlength={8} autocomplete="new-password" />
            </div>
            <div>
              <label for="new-role">{t.role}</label>
              <RoleSelect id="new-role" value="worker" />
            </div>
            <button type="submit">{t.createUser}</button>
          </form>
          <div class="cards" style="margin-top:1rem">
            {(res.ok ? res.data : []).map((u) => (
              <UserCard u={u} badge={badgeOf.get(u.id)} csrf={input.csrf} />
            ))}
          </div>
          <StationsCard stations={stations.ok ? stations.data : []} names={names} here={station.station(c)} csrf={input.csrf} />
        </Layout>,
      );
    }),
  );
  const id = (raw: string | undefined) => raw ?? '';
  app.post(
    '/console/users',
    frame.action('/console/users', async (_c, api, form) => ({
      ...(await api.post('/auth/register', {
        form: { username: form.username, password: form.password, role: form.role },
        idempotencyKey: form.idem,
      })),
      okText: t.actionOk.userCreated,
    })),
  );
  app.post(
    '/console/users/:id/role',
    frame.action('/console/users', async (c, api, form) => ({
      ...(await api.patch('/auth/users/{user_id}/role', { params: { user_id: id(c.req.param('id')) }, form: { role: form.role } })),
      okText: t.actionOk.userUpdated,
    })),
  );
  app.get(
    '/console/users/:id/deactivate',
    frame.page(['admin'], async (c, input) => {
      const raw = c.req.param('id') ?? '';
      const res = /^\d{1,16}$/.test(raw) ? await input.api.get('/auth/users', { query: { limit: 500 } }) : undefined;
      const u = res?.ok ? res.data.find((x) => x.id === Number(raw)) : undefined;
      if (!u) return frame.errorPage(c, 404, t.notFound, input);
      return c.html(
        <Layout title={t.deactivate} {...input} current="/console/users">
          <form method="post" action={`/console/users/${u.id}/active`} class="card">
            <FormGuard csrf={input.csrf} />
            <input type="hidden" name="active" value="false" />
            <p class="warning">{t.deactivateWhat(u.username)}</p>
            <div class="actions">
              <button type="submit" class="danger">
                {t.confirmDeactivate(u.username)}
              </button>
              <a class="button secondary" href="/console/users">
                {t.keepActive}
              </a>
            </div>
          </form>
        </Layout>,
      );
    }),
  );
  app.post(
    '/console/users/:id/badge',
    frame.action('/console/users', async (c, api, form) => {
      const remove = form.remove === '1' || (form.badge ?? '').trim() === '';
      const body = remove ? { badge: null } : { badge: (form.badge ?? '').trim(), ...(form.pin ? { pin: form.pin } : {}) };
      const res = await api.put('/auth/users/{user_id}/badge', { params: { user_id: id(c.req.param('id')) }, body });
      return { ...res, okText: remove ? t.station.badgeRemoved : t.station.badgeSaved };
    }),
  );
  app.post(
    '/console/stations',
    frame.action('/console/users', async (c, api, form) => {
      const res = await api.post('/stations', { form: { name: form.name } });
      if (res.ok) await station.markThisBrowser(c, { id: res.data.station.id, token: res.data.token });
      return { ...res, okText: res.ok ? t.station.marked(res.data.station.name) : '' };
    }),
  );
  app.post(
    '/console/stations/:id/revoke',
    frame.action('/console/users', async (c, api) => {
      const here = station.station(c);
      const res = await api.post('/stations/{station_id}/revoke', { params: { station_id: id(c.req.param('id')) } });
      if (res.ok && here?.id === res.data.id) station.unmarkThisBrowser(c);
      return { ...res, okText: t.station.revokedOk };
    }),
  );
  app.post(
    '/console/users/:id/active',
    frame.action('/console/users', async (c, api, form) => ({
      // Only the form's two values mean anything; whatever else is sent goes to the API as is,
      // which refuses it (422) and changes nothing.
      ...(await api.patch('/auth/users/{user_id}', {
        params: { user_id: id(c.req.param('id')) },
        form: { active: form.active === 'true' ? true : form.active === 'false' ? false : form.active },
      })),
      okText: t.actionOk.userUpdated,
    })),
  );
  app.post(
    '/console/users/:id/password',
    frame.action('/console/users', async (c, api, form) => ({
      ...(await api.post('/auth/users/{user_id}/password', {
        params: { user_id: id(c.req.param('id')) },
        form: { new_password: form.new_password },
        idempotencyKey: form.idem,
      })),
      okText: t.actionOk.userUpdated,
    })),
  );
}
