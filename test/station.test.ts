import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, type TestGateway, testConfig } from './helpers/app.ts';
import { createWorkOrder } from './helpers/floor.ts';
import { ConsoleAgent } from './console-helpers.ts';

let gw: TestGateway;
beforeEach(() => {
  gw = makeGateway();
});
afterEach(() => gw.close());

const IDLE_MS = 120_000;

async function setBadge(adminToken: string, userId: number, payload: Record<string, unknown>) {
  return gw.req('PUT', `/auth/users/${userId}/badge`, { token: adminToken, body: payload });
}

/** An admin's console agent that marked its browser as a station, then signed out: the tablet on the floor. */
async function stationBrowser(name = 'Saw 1') {
  const admin = await gw.login('admin');
  const agent = new ConsoleAgent(gw);
  expect((await agent.signIn(admin.username, admin.password)).status).toBe(303);
  const fields = await agent.formFields('/console/users', '/console/stations');
  const marked = await agent.post('/console/stations', { ...fields, name });
  expect(marked.status).toBe(303);
  const logout = await agent.formFields('/console/users', '/console/logout');
  await agent.post('/console/logout', logout);
  return { admin, agent };
}

/** A worker with badge 4711 and PIN 2468. */
async function badgedWorker(adminToken: string) {
  const worker = await gw.login('worker');
  expect((await setBadge(adminToken, worker.id, { badge: '4711', pin: '2468' })).status).toBe(204);
  return worker;
}

describe('stations and badges through the API (admin only)', () => {
  it('marks, lists and revokes a station; the token is shown once and only its hash is kept', async () => {
    const admin = await gw.login('admin');
    const res = await gw.req('POST', '/stations', { token: admin.token, body: { name: 'Press 3' } });
    expect(res.status).toBe(201);
    const created = (await body<{ station: { id: number; name: string; revoked_at: null }; token: string }>(res)).data;
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = gw.ctx.store.sqlite.prepare('SELECT token_hash FROM stations').get() as { token_hash: string };
    expect(stored.token_hash).not.toContain(created.token);
    const list = await body<Array<{ name: string; created_by: number; revoked_at: string | null }>>(await gw.req('GET', '/stations', { token: admin.token }));
    expect(list.data).toEqual([expect.objectContaining({ name: 'Press 3', created_by: admin.id, revoked_at: null })]);
    expect(JSON.stringify(list.data)).not.toContain(created.token);
    const revoked = await gw.req('POST', `/stations/${created.station.id}/revoke`, { token: admin.token });
    expect((await body<{ revoked_at: string }>(revoked)).data.revoked_at).toBe(new Date(gw.clock.now()).toISOString());
  });

  it('refuses workers, planners and managers, and a bad name with a clear 422', async () => {
    const admin = await gw.login('admin');
    for (const role of ['worker', 'planner', 'manager'] as const) {
      const { token, id } = await gw.login(role);
      expect((await gw.req('POST', '/stations', { token, body: { name: 'x' } })).status).toBe(403);
      expect((await gw.req('GET', '/stations', { token })).status).toBe(403);
      expect((await gw.req('GET', '/auth/badges', { token })).status).toBe(403);
      expect((await setBadge(token, id, { badge: '1', pin: '1234' })).status).toBe(403);
    }
    const bad = await gw.req('POST', '/stations', { token: admin.token, body: { name: '' } });
    expect(bad.status).toBe(422);
    expect(rowCount(gw.ctx, 'stations')).toBe(0);
  });

  it('sets a badge and a hashed PIN; the PIN format, a missing PIN and a taken badge get clear errors', async () => {
    const admin = await gw.login('admin');
    const a = await gw.login('worker');
    const b = await gw.login('worker');
    const letters = await setBadge(admin.token, a.id, { badge: '4711', pin: '12a4' });
    expect(letters.status).toBe(422);
    expect(JSON.stringify(await body(letters))).toContain('must be 4–8 digits');
    expect((await setBadge(admin.token, a.id, { badge: '4711', pin: '123' })).status).toBe(422);
    const noPin = await setBadge(admin.token, a.id, { badge: '4711' });
    expect(noPin.status).toBe(422);
    expect(JSON.stringify(await body(noPin))).toContain('no PIN yet');
    expect(rowCount(gw.ctx, 'user_badges')).toBe(0);

    expect((await setBadge(admin.token, a.id, { badge: '4711', pin: '2468' })).status).toBe(204);
    const row = gw.ctx.store.sqlite.prepare('SELECT pin_hash FROM user_badges').get() as { pin_hash: string };
    expect(row.pin_hash).toMatch(/^scrypt\$/);
    expect(row.pin_hash).not.toContain('2468');

    const taken = await setBadge(admin.token, b.id, { badge: '4711', pin: '1357' });
    expect(taken.status).toBe(409);
    expect((await body(taken)).error.message).toContain(a.username);
    // Unique among active users: once a leaves, the badge can go to b.
    expect((await gw.req('PATCH', `/auth/users/${a.id}`, { token: admin.token, body: { active: false } })).status).toBe(200);
    expect((await setBadge(admin.token, b.id, { badge: '4711', pin: '1357' })).status).toBe(204);

    const list = await body<Array<{ user_id: number; badge: string; pin_set: boolean }>>(await gw.req('GET', '/auth/badges', { token: admin.token }));
    expect(list.data.map((x) => [x.user_id, x.badge, x.pin_set])).toEqual([
      [a.id, '4711', true],
      [b.id, '4711', true],
    ]);
    expect(JSON.stringify(list.data)).not.toContain('scrypt');
    // a comes back: the badge stays with b, a has none until an admin gives one.
    expect((await gw.req('PATCH', `/auth/users/${a.id}`, { token: admin.token, body: { active: true } })).status).toBe(200);
    const after = await body<Array<{ user_id: number }>>(await gw.req('GET', '/auth/badges', { token: admin.token }));
    expect(after.data.map((x) => x.user_id)).toEqual([b.id]);
  });
});

describe('badges are for workers only (a 4-digit PIN must never open an admin, planner or manager session)', () => {
  it('refuses a badge for any other role with a clear 409, and stores nothing', async () => {
    const admin = await gw.login('admin');
    for (const role of ['admin', 'planner', 'manager'] as const) {
      const other = await gw.login(role);
      const res = await setBadge(admin.token, other.id, { badge: `90${role.length}`, pin: '2468' });
      expect(res.status, role).toBe(409);
      expect((await body(res)).error.message).toContain('only workers can have a badge');
    }
    expect((await setBadge(admin.token, admin.id, { badge: '9000', pin: '2468' })).status).toBe(409);
    expect(rowCount(gw.ctx, 'user_badges')).toBe(0);
    // The Users page offers the badge form for workers only.
    const worker = await gw.login('worker');
    const agent = new ConsoleAgent(gw);
    await agent.signIn(admin.username, admin.password);
    const users = await (await agent.get('/console/users')).text();
    expect(users).toContain(`action="/console/users/${worker.id}/badge"`);
    expect(users).not.toContain(`action="/console/users/${admin.id}/badge"`);
  });

  it('removes the badge and ends station sessions when a worker becomes a planner, manager or admin', async () => {
    const { admin, agent } = await stationBrowser();
    const worker = await badgedWorker(admin.token);
    expect((await agent.post('/console/login', { badge: '4711', pin: '2468' })).status).toBe(303);
    expect((await agent.get('/console/work')).status).toBe(200);
    const promoted = await gw.req('PATCH', `/auth/users/${worker.id}/role`, { token: admin.token, body: { role: 'planner' } });
    expect(promoted.status).toBe(200);
    expect(rowCount(gw.ctx, 'user_badges')).toBe(0);
    // The planner's session opened by PIN is over, and the PIN opens nothing any more.
    expect((await agent.get('/console/work')).status).toBe(303);
    expect((await agent.post('/console/login', { badge: '4711', pin: '2468' })).status).toBe(401);
  });

  it('does not sign in a non-worker whose badge predates the rule', async () => {
    const { admin, agent } = await stationBrowser();
    const pinHash = await gw.ctx.passwords.hash('2468');
    gw.ctx.store.sqlite
      .prepare('INSERT INTO user_badges (user_id, badge, pin_hash, updated_at) VALUES (?, ?, ?, ?)')
      .run(admin.id, '4711', pinHash, gw.clock.now());
    const res = await agent.post('/console/login', { badge: '4711', pin: '2468' });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie().join()).not.toContain('gw_session=ey');
  });
});

describe('removing a badge', () => {
  it("ends the worker's station sessions at once (badge null), like a new PIN", async () => {
    const { admin, agent } = await stationBrowser();
    const worker = await badgedWorker(admin.token);
    expect((await agent.post('/console/login', { badge: '4711', pin: '2468' })).status).toBe(303);
    expect((await agent.get('/console/work')).status).toBe(200);
    expect((await setBadge(admin.token, worker.id, { badge: null })).status).toBe(204);
    expect((await agent.get('/console/work')).status).toBe(303);
    // The worker's own sessions off the station are left alone.
    expect((await gw.req('GET', '/auth/me', { token: worker.token })).status).toBe(200);
  });
});

describe('a PIN never works off a station', () => {
  it('is refused by /auth/login, with the badge or the username as the name', async () => {
    const admin = await gw.login('admin');
    const worker = await badgedWorker(admin.token);
    for (const username of ['4711', worker.username]) {
      expect((await gw.req('POST', '/auth/login', { body: { username, password: '2468' } })).status).toBe(401);
    }
  });

  it('is refused by the console sign-in without a station cookie, or with a revoked one', async () => {
    const admin = await gw.login('admin');
    await badgedWorker(admin.token);
    const laptop = new ConsoleAgent(gw);
    expect(await (await laptop.get('/console/login')).text()).not.toContain('name="badge"');
    const res = await laptop.post('/console/login', { badge: '4711', pin: '2468' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().join()).not.toContain('gw_session=ey');

    const { agent } = await stationBrowser();
    const id = (gw.ctx.store.sqlite.prepare('SELECT id FROM stations').get() as { id: number }).id;
    expect((await gw.req('POST', `/stations/${id}/revoke`, { token: admin.token })).status).toBe(200);
    expect((await agent.post('/console/login', { badge: '4711', pin: '2468' })).status).toBe(403);
  });
});

describe('signing in on a station', () => {
  it('offers badge and PIN, signs the worker in, and ends the session after the idle time', async () => {
    const { admin, agent } = await stationBrowser();
    const worker = await badgedWorker(admin.token);
    const page = await (await agent.get('/console/login')).text();
    expect(page).toMatch(/<input id="badge" name="badge"[^>]*autofocus/);
    const res = await agent.post('/console/login', { badge: '4711', pin: '2468' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/work');
    const work = await agent.get('/console/work');
    expect(work.status).toBe(200);
    expect(await work.text()).toContain(`data-idle-s="120"`);

    // Each page moves the expiry on: 100 s, a page, 100 s, a page, all signed in.
    for (let i = 0; i < 2; i++) {
      gw.clock.advance(100_000);
      expect((await agent.get('/console/work')).status).toBe(200);
    }
    gw.clock.advance(IDLE_MS + 1000);
    const after = await agent.get('/console/work');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/console/login');
    const audit = gw.ctx.store.sqlite
      .prepare("SELECT details FROM audit_log WHERE action = 'login.success' AND target_user_id = ? AND details IS NOT NULL")
      .get(worker.id) as {
      details: string;
    };
    expect(JSON.parse(audit.details)).toMatchObject({ method: 'badge' });
  });

  it('keeps the session while the page reports the worker typing (/console/alive), and not past the idle time', async () => {
    const { admin, agent } = await stationBrowser();
    await badgedWorker(admin.token);
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    gw.clock.advance(IDLE_MS - 10_000);
    await agent.get('/console/alive').then((r) => expect(r.status).toBe(204));
    gw.clock.advance(IDLE_MS - 10_000);
    expect((await agent.get('/console/work')).status).toBe(200);
    gw.clock.advance(IDLE_MS + 1);
    expect((await agent.get('/console/alive')).status).toBe(401);
  });

  it("does not move the expiry on for the page's own background requests (live refresh, chart), only for the worker", async () => {
    const { admin, agent } = await stationBrowser();
    await badgedWorker(admin.token);
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    const background = { 'x-gw-background': '1' };
    // What the page's script fetches on every live event, as long as the tablet is left on My work or a chart.
    for (let i = 0; i < 3; i++) {
      gw.clock.advance(50_000);
      expect((await agent.send('GET', '/console/work', undefined, background)).status).toBe(i < 2 ? 200 : 303);
      await agent.send('GET', '/console/machines/1/chart?type=temperature', undefined, background);
    }
    // 150 s after the last thing the worker did: signed out, though the page kept fetching.
    expect((await agent.get('/console/work')).status).toBe(303);
  });

  it('makes a password sign-in on a station a station session too (a supervisor at the tablet), ended when idle', async () => {
    const { admin, agent } = await stationBrowser();
    expect((await agent.signIn(admin.username, admin.password)).status).toBe(303);
    expect(await (await agent.get('/console/users')).text()).toContain('data-idle-s="120"');
    gw.clock.advance(IDLE_MS + 1000);
    expect((await agent.get('/console/users')).status).toBe(303);
    // Off a station the same sign-in is an ordinary session: no idle sign-out.
    const laptop = new ConsoleAgent(gw);
    await laptop.signIn(admin.username, admin.password);
    expect(await (await laptop.get('/console/users')).text()).not.toContain('data-idle-s');
    gw.clock.advance(IDLE_MS + 1000);
    expect((await laptop.get('/console/users')).status).toBe(200);
    // A link to the idle sign-out page does not sign an ordinary session out.
    expect(await (await laptop.get('/console/login?idle=1')).text()).not.toContain('without use');
    expect((await laptop.get('/console/users')).status).toBe(200);
  });

  it("does not drop an ordinary session's cookie from a cross-site link to the idle page (the browser sent no cookie)", async () => {
    const admin = await gw.login('admin');
    const laptop = new ConsoleAgent(gw);
    await laptop.signIn(admin.username, admin.password);
    // SameSite=Strict: a navigation from another site arrives without gw_session.
    const crossSite = await gw.app.request('http://localhost/console/login?idle=1', { headers: { host: 'localhost' } });
    expect(crossSite.status).toBe(200);
    expect(crossSite.headers.getSetCookie().join()).not.toContain('gw_session=');
    expect(await crossSite.text()).not.toContain('without use');
    // A cookie whose session is over is cleared, with the idle message (the station's own timer).
    const { agent } = await stationBrowser();
    await badgedWorker(admin.token);
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    gw.clock.advance(IDLE_MS + 1000);
    const idle = await agent.get('/console/login?idle=1');
    expect(idle.headers.getSetCookie().join()).toMatch(/gw_session=;/);
    expect(await idle.text()).toContain('without use');
  });

  it("binds the marking admin's own session to the station, so it ends when idle too", async () => {
    const admin = await gw.login('admin');
    const agent = new ConsoleAgent(gw);
    await agent.signIn(admin.username, admin.password);
    const fields = await agent.formFields('/console/users', '/console/stations');
    expect((await agent.post('/console/stations', { ...fields, name: 'Saw 1' })).status).toBe(303);
    expect(await (await agent.get('/console/users')).text()).toContain('data-idle-s="120"');
    gw.clock.advance(IDLE_MS + 1000);
    expect((await agent.get('/console/users')).status).toBe(303);
  });

  it('opens no session on a station revoked while the PIN was being checked', async () => {
    const { admin, agent } = await stationBrowser();
    const worker = await badgedWorker(admin.token);
    const id = (gw.ctx.store.sqlite.prepare('SELECT id FROM stations').get() as { id: number }).id;
    const verify = gw.ctx.passwords.verify.bind(gw.ctx.passwords);
    gw.ctx.passwords.verify = async (password, hash) => {
      // The admin revokes the station while scrypt runs.
      expect((await gw.req('POST', `/stations/${id}/revoke`, { token: admin.token })).status).toBe(200);
      return verify(password, hash);
    };
    const res = await agent.post('/console/login', { badge: '4711', pin: '2468' });
    gw.ctx.passwords.verify = verify;
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().join()).not.toContain('gw_session=ey');
    expect(gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM sessions WHERE station_id IS NOT NULL AND user_id = ?').get(worker.id)).toEqual({ n: 0 });
  });

  it('takes STATION_IDLE_SIGNOUT_S from 30 to 3600 seconds and names the key otherwise', () => {
    expect(() => testConfig(gw.dir, { STATION_IDLE_SIGNOUT_S: '10' })).toThrow('STATION_IDLE_SIGNOUT_S: must be ≥ 30');
    expect(() => testConfig(gw.dir, { STATION_IDLE_SIGNOUT_S: 'two minutes' })).toThrow('STATION_IDLE_SIGNOUT_S: must be an integer');
    expect(testConfig(gw.dir, { STATION_IDLE_SIGNOUT_S: '300' }).stationIdleS).toBe(300);
    expect(testConfig(gw.dir).stationIdleS).toBe(120);
  });

  it('throttles wrong PINs like passwords: after 5 failures the right PIN waits too', async () => {
    const { admin, agent } = await stationBrowser();
    await badgedWorker(admin.token);
    for (let i = 0; i < 5; i++) expect((await agent.post('/console/login', { badge: '4711', pin: `000${i}` })).status).toBe(401);
    const blocked = await agent.post('/console/login', { badge: '4711', pin: '2468' });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain('Too many attempts');
  });

  it('ends every session of a station when an admin revokes it', async () => {
    const { admin, agent } = await stationBrowser();
    await badgedWorker(admin.token);
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    expect((await agent.get('/console/work')).status).toBe(200);
    const id = (gw.ctx.store.sqlite.prepare('SELECT id FROM stations').get() as { id: number }).id;
    await gw.req('POST', `/stations/${id}/revoke`, { token: admin.token });
    expect((await agent.get('/console/work')).status).toBe(303);
  });

  it("ends only the session its page's timer ran for: a timer left on the last worker's page does not sign out the next", async () => {
    const { admin, agent } = await stationBrowser();
    await badgedWorker(admin.token);
    const next = await gw.login('worker');
    expect((await setBadge(admin.token, next.id, { badge: '4712', pin: '1357' })).status).toBe(204);
    const markOf = (html: string) => /data-idle-for="([^"]+)"/.exec(html)?.[1] ?? '';

    // Worker A's My work page (its timer's mark), then A signs out and B signs in at the tablet.
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    const markA = markOf(await (await agent.get('/console/work')).text());
    expect(markA).not.toBe('');
    const logout = await agent.formFields('/console/work', '/console/logout');
    expect((await agent.post('/console/logout', logout)).status).toBe(303);
    expect((await agent.post('/console/login', { badge: '4712', pin: '1357' })).status).toBe(303);
    const markB = markOf(await (await agent.get('/console/work')).text());
    expect(markB).not.toBe(markA);

    // A's page, left in another tab, times out: B stays signed in.
    const stale = await agent.get(`/console/login?idle=${markA}`);
    expect(await stale.text()).not.toContain('without use');
    expect((await agent.get('/console/work')).status).toBe(200);
    // B's own timer signs B out.
    expect(await (await agent.get(`/console/login?idle=${markB}`)).text()).toContain('without use');
    expect((await agent.get('/console/work')).status).toBe(303);
  });

  it('signs the worker out after Done on My work', async () => {
    const { admin, agent } = await stationBrowser();
    const worker = await badgedWorker(admin.token);
    const planner = await gw.login('planner');
    const wo = await createWorkOrder(gw, planner.token, { stages: [{ stage_name: 'cutting' }] });
    const stageId = wo.stages[0]?.id ?? 0;
    expect((await gw.req('POST', `/stages/${stageId}/assignments`, { token: planner.token, body: { user_id: worker.id } })).status).toBe(201);
    expect((await gw.req('POST', `/stages/${stageId}/start`, { token: worker.token, body: {} })).status).toBe(200);
    await agent.post('/console/login', { badge: '4711', pin: '2468' });
    const html = await (await agent.get('/console/work')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const done = await agent.post(`/console/stages/${stageId}/done`, { csrf, idem: 'done-1', qty_good: '10', qty_scrap: '0' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/console/login');
    const login = await (await agent.get('/console/login')).text();
    expect(login).toContain('You are signed out');
    expect((await agent.get('/console/work')).status).toBe(303);
  });
});
