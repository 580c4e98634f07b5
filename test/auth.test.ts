import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATA_VERSION_CHECK_MS } from '../src/modules/auth/session-cache.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';

let gw: TestGateway;
beforeEach(() => {
  gw = makeGateway();
});
afterEach(() => gw.close());

const audit = (action: string) =>
  gw.ctx.store.sqlite.prepare('SELECT * FROM audit_log WHERE action = ? ORDER BY id').all(action) as Array<Record<string, unknown>>;

describe('register and login', () => {
  it('registers a worker and logs in with JSON and with a form body', async () => {
    const res = await gw.req('POST', '/auth/register', { body: { username: 'anna', password: 'long-enough-pw' } });
    expect(res.status).toBe(201);
    const created = await body<{ id: number; role: string; username: string }>(res);
    expect(created.data).toMatchObject({ username: 'anna', role: 'worker', active: true });
    expect(created.data).not.toHaveProperty('password_hash');
    expect(res.headers.get('x-request-id')).toBeTruthy();

    const json = await gw.req('POST', '/auth/login', { body: { username: 'anna', password: 'long-enough-pw' } });
    expect(json.status).toBe(200);
    const j = await body<{ access_token: string; token_type: string; expires_in: number; user: { id: number } }>(json);
    expect(j.data.token_type).toBe('bearer');
    expect(j.data.expires_in).toBe(43200);
    expect(j.data.user.id).toBe(created.data.id);

    const form = await gw.req('POST', '/auth/login', {
      body: 'username=anna&password=long-enough-pw',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(200);
    const me = await gw.req('GET', '/auth/me/', { token: (await body<{ access_token: string }>(form)).data.access_token });
    expect((await body<{ username: string }>(me)).data.username).toBe('anna');
    expect(audit('login.success')).toHaveLength(2);
    expect(audit('user.create')[0]).toMatchObject({ target_username: 'anna' });
  });

  it('ignores a role in a public registration and honours it for an admin', async () => {
    const pub = await gw.req('POST', '/auth/register', { body: { username: 'sneaky', password: 'long-enough-pw', role: 'admin' } });
    expect((await body<{ role: string }>(pub)).data.role).toBe('worker');
    const worker = await gw.login('worker');
    const byWorker = await gw.req('POST', '/auth/register', { token: worker.token, body: { username: 'sneaky2', password: 'long-enough-pw', role: 'admin' } });
    expect((await body<{ role: string }>(byWorker)).data.role).toBe('worker');
    const admin = await gw.login('admin');
    const byAdmin = await gw.req('POST', '/auth/register', { token: admin.token, body: { username: 'boss', password: 'long-enough-pw', role: 'planner' } });
    expect((await body<{ role: string }>(byAdmin)).data.role).toBe('planner');
  });

  it('refuses a taken username (any case), a short password and a bad username', async () => {
    await gw.req('POST', '/auth/register', { body: { username: 'anna', password: 'long-enough-pw' } });
    const again = await gw.req('POST', '/auth/register', { body: { username: 'ANNA', password: 'long-enough-pw' } });
    expect(again.status).toBe(409);
    expect((await body(again)).error.code).toBe('CONFLICT');
    const short = await gw.req('POST', '/auth/register', { body: { username: 'bob', password: 'short' } });
    expect(short.status).toBe(422);
    const bad = await gw.req('POST', '/auth/register', { body: { username: 'a b', password: 'long-enough-pw' } });
    expect((await body(bad)).error.details).toEqual([expect.objectContaining({ path: 'username' })]);
    expect(rowCount(gw.ctx, 'users')).toBe(1);
  });

  it('can switch public registration off', async () => {
    const closed = makeGateway({ REGISTRATION_OPEN: 'false' });
    try {
      const res = await closed.req('POST', '/auth/register', { body: { username: 'anna', password: 'long-enough-pw' } });
      expect(res.status).toBe(403);
      const admin = await closed.login('admin');
      const ok = await closed.req('POST', '/auth/register', { token: admin.token, body: { username: 'anna', password: 'long-enough-pw' } });
      expect(ok.status).toBe(201);
    } finally {
      closed.close();
    }
  });

  it('answers an unknown user and a wrong password alike, and audits both', async () => {
    await gw.login('worker', 'known');
    const wrong = await gw.req('POST', '/auth/login', { body: { username: 'known', password: 'not-the-password' } });
    const unknown = await gw.req('POST', '/auth/login', { body: { username: 'nobody', password: 'not-the-password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect((await body(wrong)).error.message).toBe((await body(unknown)).error.message);
    expect(audit('login.failure').map((r) => r.target_username)).toEqual(['known', 'nobody']);
  });

  it('throttles repeated failures with 429 and Retry-After, then lets the user in after the window', async () => {
    const user = await gw.login('worker', 'target');
    for (let i = 0; i < 5; i++) {
      expect((await gw.req('POST', '/auth/login', { body: { username: 'target', password: 'wrong-password' } })).status).toBe(401);
    }
    const limited = await gw.req('POST', '/auth/login', { body: { username: 'target', password: user.password } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await body(limited)).error.code).toBe('RATE_LIMITED');
    gw.clock.advance(16 * 60_000);
    expect((await gw.req('POST', '/auth/login', { body: { username: 'target', password: user.password } })).status).toBe(200);
  });
});

describe('user administration', () => {
  it('lists users without hashes, with cursor pagination', async () => {
    const admin = await gw.login('admin');
    for (let i = 0; i < 3; i++) await gw.login('worker');
    const first = await body<Array<Record<string, unknown>>>(await gw.req('GET', '/auth/users?limit=2', { token: admin.token }));
    expect(first.data).toHaveLength(2);
    expect(first.data[0]).not.toHaveProperty('password_hash');
    expect(first.data[0]).toHaveProperty('created_at');
    const next = first.meta.next_cursor as string;
    const second = await body<Array<{ id: number }>>(await gw.req('GET', `/auth/users?limit=2&cursor=${next}`, { token: admin.token }));
    expect(second.data).toHaveLength(2);
    expect(second.meta.next_cursor).toBeNull();
    expect(new Set([...first.data, ...second.data].map((u) => u.id)).size).toBe(4);
  });

  it('shows a planner the active workers to assign, and nothing else of anyone', async () => {
    const planner = await gw.login('planner');
    const admin = await gw.login('admin');
    const workers = [await gw.login('worker'), await gw.login('worker'), await gw.login('worker')];
    await gw.login('manager');
    await gw.req('PATCH', `/auth/users/${workers[1]?.id}`, { token: admin.token, body: { active: false } });
    const first = await body<Array<Record<string, unknown>>>(await gw.req('GET', '/auth/workers?limit=1', { token: planner.token }));
    expect(first.data).toEqual([{ id: workers[0]?.id, username: workers[0]?.username, role: 'worker', active: true }]);
    const rest = await body<Array<{ id: number }>>(await gw.req('GET', `/auth/workers?cursor=${first.meta.next_cursor}`, { token: planner.token }));
    expect(rest.data.map((u) => u.id)).toEqual([workers[2]?.id]);
    expect(rest.meta.next_cursor).toBeNull();
    // The full user list stays the admin's.
    expect((await gw.req('GET', '/auth/users', { token: planner.token })).status).toBe(403);
    expect((await gw.req('GET', '/auth/workers', { token: workers[0]?.token })).status).toBe(403);
  });

  it('applies a role change on the next request and audits it', async () => {
    const admin = await gw.login('admin');
    const worker = await gw.login('worker');
    expect((await gw.req('GET', '/issues', { token: worker.token })).status).toBe(403);
    const res = await gw.req('PATCH', `/auth/users/${worker.id}/role`, { token: admin.token, body: { role: 'manager' } });
    expect((await body<{ role: string }>(res)).data.role).toBe('manager');
    expect((await gw.req('GET', '/issues', { token: worker.token })).status).toBe(200);
    expect(audit('user.role_change')[0]).toMatchObject({ actor_user_id: admin.id, target_user_id: worker.id });
  });

  it('refuses to demote or deactivate the last admin', async () => {
    const admin = await gw.login('admin');
    const demote = await gw.req('PATCH', `/auth/users/${admin.id}/role`, { token: admin.token, body: { role: 'worker' } });
    expect(demote.status).toBe(409);
    const deactivate = await gw.req('PATCH', `/auth/users/${admin.id}`, { token: admin.token, body: { active: false } });
    expect(deactivate.status).toBe(409);
    const other = await gw.login('admin');
    expect((await gw.req('PATCH', `/auth/users/${admin.id}/role`, { token: other.token, body: { role: 'worker' } })).status).toBe(200);
  });

  it('does not apply a role sent to the activation endpoint', async () => {
    const admin = await gw.login('admin');
    const worker = await gw.login('worker');
    const res = await gw.req('PATCH', `/auth/users/${worker.id}`, { token: admin.token, body: { active: true, role: 'admin' } });
    expect(res.status).toBe(422);
    expect((await body<{ role: string }>(await gw.req('GET', '/auth/me', { token: worker.token }))).data.role).toBe('worker');
  });

  it('stops a deactivated user at once and refuses its login', async () => {
    const admin = await gw.login('admin');
    const worker = await gw.login('worker');
    await gw.req('PATCH', `/auth/users/${worker.id}`, { token: admin.token, body: { active: false } });
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
    expect((await gw.req('POST', '/auth/login', { body: { username: worker.username, password: worker.password } })).status).toBe(401);
    await gw.req('PATCH', `/auth/users/${worker.id}`, { token: admin.token, body: { active: true } });
    expect((await gw.req('POST', '/auth/login', { body: { username: worker.username, password: worker.password } })).status).toBe(200);
  });

  it('404s an unknown user', async () => {
    const admin = await gw.login('admin');
    expect((await gw.req('PATCH', '/auth/users/999999/role', { token: admin.token, body: { role: 'worker' } })).status).toBe(404);
  });
});

describe('passwords and logout', () => {
  it('changing your password ends your other sessions but keeps this one', async () => {
    const worker = await gw.login('worker');
    const other = await body<{ access_token: string }>(await gw.req('POST', '/auth/login', { body: { username: worker.username, password: worker.password } }));
    const wrong = await gw.req('POST', '/auth/password', { token: worker.token, body: { current_password: 'nope-nope', new_password: 'a-new-password' } });
    expect(wrong.status).toBe(401);
    const res = await gw.req('POST', '/auth/password', { token: worker.token, body: { current_password: worker.password, new_password: 'a-new-password' } });
    expect(res.status).toBe(204);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(200);
    expect((await gw.req('GET', '/auth/me', { token: other.data.access_token })).status).toBe(401);
    expect((await gw.req('POST', '/auth/login', { body: { username: worker.username, password: 'a-new-password' } })).status).toBe(200);
  });

  it("an admin reset ends all the user's sessions", async () => {
    const admin = await gw.login('admin');
    const worker = await gw.login('worker');
    const res = await gw.req('POST', `/auth/users/${worker.id}/password`, { token: admin.token, body: { new_password: 'reset-by-admin' } });
    expect(res.status).toBe(204);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
    expect((await gw.req('POST', '/auth/login', { body: { username: worker.username, password: 'reset-by-admin' } })).status).toBe(200);
  });

  it('logout revokes only the presented token', async () => {
    const worker = await gw.login('worker');
    const other = await body<{ access_token: string }>(await gw.req('POST', '/auth/login', { body: { username: worker.username, password: worker.password } }));
    expect((await gw.req('POST', '/auth/logout', { token: worker.token })).status).toBe(204);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
    expect((await gw.req('GET', '/auth/me', { token: other.data.access_token })).status).toBe(200);
  });

  it('tokens expire after JWT_TTL', async () => {
    const worker = await gw.login('worker');
    gw.clock.advance(43200 * 1000 + 1000);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
  });
});

describe('revocation is never cached away', () => {
  it('sees a change committed by another connection within DATA_VERSION_CHECK_MS', async () => {
    const Sqlite = (await import('better-sqlite3')).default;
    const worker = await gw.login('worker');
    expect((await gw.req('GET', '/issues', { token: worker.token })).status).toBe(403);
    const other = new Sqlite(gw.ctx.config.databasePath);
    other.prepare("UPDATE users SET role = 'manager' WHERE id = ?").run(worker.id);
    gw.clock.advance(DATA_VERSION_CHECK_MS);
    expect((await gw.req('GET', '/issues', { token: worker.token })).status).toBe(200);
    other.prepare('UPDATE sessions SET revoked_at = 1 WHERE user_id = ?').run(worker.id);
    other.close();
    gw.clock.advance(DATA_VERSION_CHECK_MS);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);
  });

  it('a token answered from the verified-token cache still stops at its exp and at revocation', async () => {
    const worker = await gw.login('worker');
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(200);
    // Warm: the next request skips the signature check (tokens.ts); exp and the session are still checked.
    const claims = gw.ctx.tokens.verified(worker.token, gw.ctx.clock.now());
    expect(claims?.userId).toBe(worker.id);
    gw.clock.advance((claims?.expiresAt ?? 0) - gw.ctx.clock.now() - 1);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(200);
    gw.clock.advance(1);
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(401);

    const again = await body<{ access_token: string }>(await gw.req('POST', '/auth/login', { body: { username: worker.username, password: worker.password } }));
    const token = again.data.access_token;
    expect((await gw.req('GET', '/auth/me', { token })).status).toBe(200);
    gw.ctx.store.sqlite.prepare('UPDATE sessions SET revoked_at = ? WHERE user_id = ?').run(gw.ctx.clock.now(), worker.id);
    expect(gw.ctx.tokens.verified(token, gw.ctx.clock.now())).toBeDefined();
    expect((await gw.req('GET', '/auth/me', { token })).status).toBe(401);
  });
});
