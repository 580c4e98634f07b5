import type { Hono } from 'hono';
import type { HttpEnv } from '../http/types.ts';
import type { Frame } from './frame.tsx';
import { FormGuard, Layout } from './layout.tsx';
import { formKey } from './session.ts';
import { t } from './strings.ts';

interface UserRow {
  id: number;
  username: string;
  role: string;
  active: boolean;
}

const ROLES = ['worker', 'manager', 'planner', 'admin', 'machine'] as const;

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

function UserCard(props: { u: UserRow; csrf: string }) {
  const { u, csrf } = props;
  return (
    <section class="card" data-user={u.id} aria-label={u.username}>
      <h2>
        {u.username} <span class={`status ${u.active ? 'running' : 'offline'}`}>{u.active ? t.active : t.deactivate}</span>
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
      <form method="post" action={`/console/users/${u.id}/active`} class="actions">
        <FormGuard csrf={csrf} />
        <input type="hidden" name="active" value={u.active ? 'false' : 'true'} />
        <button type="submit" class={u.active ? 'danger' : undefined}>
          {u.active ? t.deactivate : t.activate}
        </button>
      </form>
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
    </section>
  );
}

/** Admin only: create users, change role, deactivate or reactivate, reset a password. */
export function registerUsers(app: Hono<HttpEnv>, frame: Frame): void {
  app.get(
    '/console/users',
    frame.page(['admin'], async (c, input) => {
      const res = await input.api.call<UserRow[]>('GET', '/auth/users?limit=500');
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
              <UserCard u={u} csrf={input.csrf} />
            ))}
          </div>
        </Layout>,
      );
    }),
  );
  const id = (raw: string | undefined) => encodeURIComponent(raw ?? '');
  app.post(
    '/console/users',
    frame.action('/console/users', async (_c, api, form) => ({
      ...(await api.call('POST', '/auth/register', {
        body: { username: form.username, password: form.password, role: form.role },
        idempotencyKey: form.idem,
      })),
      okText: t.actionOk.userCreated,
    })),
  );
  app.post(
    '/console/users/:id/role',
    frame.action('/console/users', async (c, api, form) => ({
      ...(await api.call('PATCH', `/auth/users/${id(c.req.param('id'))}/role`, { body: { role: form.role } })),
      okText: t.actionOk.userUpdated,
    })),
  );
  app.post(
    '/console/users/:id/active',
    frame.action('/console/users', async (c, api, form) => ({
      // Only the form's two values mean anything; whatever else is sent goes to the API as is,
      // which refuses it (422) and changes nothing.
      ...(await api.call('PATCH', `/auth/users/${id(c.req.param('id'))}`, {
        body: { active: form.active === 'true' ? true : form.active === 'false' ? false : form.active },
      })),
      okText: t.actionOk.userUpdated,
    })),
  );
  app.post(
    '/console/users/:id/password',
    frame.action('/console/users', async (c, api, form) => ({
      ...(await api.call('POST', `/auth/users/${id(c.req.param('id'))}/password`, { body: { new_password: form.new_password }, idempotencyKey: form.idem })),
      okText: t.actionOk.userUpdated,
    })),
  );
}
