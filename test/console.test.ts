import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unavailable } from '../src/errors.ts';
import { body, makeGateway, T0, type TestGateway } from './helpers/app.ts';
import { createWorkOrder, type WorkOrder } from './helpers/floor.ts';
import { ConsoleAgent } from './console-helpers.ts';

let gw: TestGateway;
beforeEach(() => {
  gw = makeGateway();
});
afterEach(() => gw.close());

async function assign(token: string, stageId: number, userId: number) {
  const res = await gw.req('POST', `/stages/${stageId}/assignments`, { token, body: { user_id: userId } });
  expect(res.status).toBe(201);
}

async function signedIn(role: 'worker' | 'manager' | 'planner' | 'admin') {
  const user = await gw.login(role);
  const agent = new ConsoleAgent(gw);
  const res = await agent.signIn(user.username, user.password);
  expect(res.status).toBe(303);
  return { user, agent };
}

/** A planner's one-stage work order ('cutting'), assigned to a worker signed in to the console. */
async function workerAtStage() {
  const planner = await gw.login('planner');
  const wo = await createWorkOrder(gw, planner.token, { stages: [{ stage_name: 'cutting' }] });
  const stageId = wo.stages[0]?.id ?? 0;
  const { user, agent } = await signedIn('worker');
  await assign(planner.token, stageId, user.id);
  return { planner, wo, stageId, user, agent };
}

async function stageStatus(token: string, wo: WorkOrder, i = 0): Promise<string> {
  const res = await gw.req('GET', `/workorders/${wo.id}/stages`, { token });
  return (await body<{ status: string }[]>(res)).data[i]?.status ?? 'missing';
}

describe('console sign-in', () => {
  it('sets an HttpOnly SameSite=Strict session cookie and lands on the role home', async () => {
    const worker = await gw.login('worker');
    const res = await new ConsoleAgent(gw).signIn(worker.username, worker.password);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/work');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('marks the cookie Secure behind a trusted TLS proxy', async () => {
    const tls = makeGateway({ TRUST_PROXY: 'true' });
    try {
      const worker = await tls.login('worker');
      const res = await new ConsoleAgent(tls).post(
        '/console/login',
        { username: worker.username, password: worker.password },
        { 'x-forwarded-proto': 'https' },
      );
      expect(res.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '').toMatch(/Secure/);
    } finally {
      tls.close();
    }
  });

  it('shows a plain message for a wrong password and sets no session', async () => {
    const worker = await gw.login('worker');
    const agent = new ConsoleAgent(gw);
    const res = await agent.signIn(worker.username, 'wrong-password');
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('Wrong username or password.');
    expect((await agent.get('/console/work')).headers.get('location')).toBe('/console/login');
  });

  it('refuses a sign-in posted from another site', async () => {
    const worker = await gw.login('worker');
    const res = await new ConsoleAgent(gw).post('/console/login', { username: worker.username, password: worker.password }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('gw_session='))).toBe(false);
  });

  it('the live event stream tells a page without a valid session to sign in again', async () => {
    const res = await new ConsoleAgent(gw).get('/console/events');
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body?.getReader();
    const first = await reader?.read();
    await reader?.cancel();
    expect(new TextDecoder().decode(first?.value)).toContain('event: signedout');
  });

  it('gives a device account no live stream: it ends at once, without events', async () => {
    const device = await gw.login('machine');
    const agent = new ConsoleAgent(gw);
    expect((await agent.signIn(device.username, device.password)).status).toBe(303);
    expect((await agent.get('/console/machines')).status).toBe(403);
    const stream = await agent.get('/console/events?machines=all');
    expect(await stream.text()).toBe('');
  });

  it('applies the API login throttle', async () => {
    const worker = await gw.login('worker');
    const agent = new ConsoleAgent(gw);
    let last = 0;
    for (let i = 0; i < 30 && last !== 429; i++) last = (await agent.signIn(worker.username, 'wrong-password')).status;
    expect(last).toBe(429);
    expect(await (await agent.signIn(worker.username, worker.password)).text()).toContain('Too many attempts');
  });

  it('logout revokes the token at once', async () => {
    const { agent } = await signedIn('worker');
    const fields = await agent.formFields('/console/work', '/console/logout');
    expect((await agent.post('/console/logout', fields)).headers.get('location')).toBe('/console/login');
    expect((await agent.get('/console/work')).headers.get('location')).toBe('/console/login');
  });
});

describe('console role matrix', () => {
  const matrix: Record<string, Record<string, number>> = {
    '/console/work': { worker: 200, planner: 200, admin: 200, manager: 403 },
    '/console/board': { worker: 403, planner: 200, admin: 200, manager: 200 },
    '/console/machines': { worker: 200, planner: 200, admin: 200, manager: 200 },
    '/console/system': { worker: 403, planner: 403, admin: 200, manager: 200 },
    '/console/users': { worker: 403, planner: 403, admin: 200, manager: 403 },
  };
  for (const [path, roles] of Object.entries(matrix)) {
    it(`${path}: sign-in when anonymous, then as the matrix says per role`, async () => {
      const anon = await new ConsoleAgent(gw).get(path);
      expect(anon.status).toBe(303);
      expect(anon.headers.get('location')).toBe('/console/login');
      for (const [role, status] of Object.entries(roles)) {
        const { agent } = await signedIn(role as 'worker');
        const res = await agent.get(path);
        expect(res.status, `${role} ${path}`).toBe(status);
        const html = await res.text();
        // Standards mode on every page, the 403 page too.
        expect(html.startsWith('<!DOCTYPE html><html lang="en">'), `${role} ${path}: doctype`).toBe(true);
        if (status === 403) expect(html).toContain('Your role cannot open this page.');
      }
    });
  }

  it('a machine account gets a 403 page, not the console', async () => {
    const machine = await gw.login('machine');
    const agent = new ConsoleAgent(gw);
    await agent.signIn(machine.username, machine.password);
    expect((await agent.get('/console/machines')).status).toBe(403);
  });

  it('serves the stylesheet and script locally, and / leads to the console', async () => {
    const agent = new ConsoleAgent(gw);
    expect((await agent.get('/console/assets/console.css')).headers.get('content-type')).toMatch(/text\/css/);
    expect((await agent.get('/console/assets/console.js')).status).toBe(200);
    expect((await agent.get('/')).headers.get('location')).toBe('/console/');
  });
});

describe('my work', () => {
  it('a worker sees only their own stages, never another worker’s', async () => {
    const planner = await gw.login('planner');
    const wo = await createWorkOrder(gw, planner.token, { stages: [{ stage_name: 'cutting-mine' }, { stage_name: 'welding-theirs' }] });
    const me = await signedIn('worker');
    const other = await gw.login('worker');
    await assign(planner.token, wo.stages[0]?.id ?? 0, me.user.id);
    await assign(planner.token, wo.stages[1]?.id ?? 0, other.id);
    const html = await (await me.agent.get('/console/work')).text();
    expect(html).toContain('cutting-mine');
    expect(html).not.toContain('welding-theirs');
  });

  it('starts a stage once even when the form is submitted twice, and explains a refused transition', async () => {
    const { planner, wo, stageId, agent } = await workerAtStage();
    const fields = await agent.formFields('/console/work', `/console/stages/${stageId}/start`);
    expect(fields.idem).toBeTruthy();
    const first = await agent.post(`/console/stages/${stageId}/start`, fields);
    const second = await agent.post(`/console/stages/${stageId}/start`, fields);
    expect(first.status).toBe(303);
    expect(second.status).toBe(303);
    expect(await stageStatus(planner.token, wo)).toBe('in_progress');
    const events = gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE kind = 'stage.started'").get() as { n: number };
    expect(events.n).toBe(1);
    // The message names the stage.
    expect(await (await agent.get('/console/work')).text()).toContain('cutting started.');

    // A stale form (fresh key) for the same start is refused by the state machine, in words.
    await agent.post(`/console/stages/${stageId}/start`, { ...fields, idem: 'another-key' });
    const page = await (await agent.get('/console/work')).text();
    expect(page).toContain('The gateway could not do that:');
    expect(page).toContain('stage cannot go from in_progress to in_progress');
  });

  it('refuses a form whose key no header can carry, starting nothing', async () => {
    const { planner, wo, stageId, agent } = await workerAtStage();
    const fields = await agent.formFields('/console/work', `/console/stages/${stageId}/start`);
    const res = await agent.post(`/console/stages/${stageId}/start`, { ...fields, idem: '€-key' });
    expect(res.status).toBe(303);
    expect(await (await agent.get('/console/work')).text()).toContain('Idempotency-Key must be 1–255 visible ASCII characters');
    expect(await stageStatus(planner.token, wo)).toBe('planned');
  });

  it('finishes with quantities and reports an issue', async () => {
    const { planner, wo, stageId, agent } = await workerAtStage();
    await agent.post(`/console/stages/${stageId}/start`, await agent.formFields('/console/work', `/console/stages/${stageId}/start`));
    const issue = await agent.formFields(`/console/work/${stageId}/issue`, `/console/stages/${stageId}/issue`);
    await agent.post(`/console/stages/${stageId}/issue`, { ...issue, type: 'tooling', description: 'blade <b>dull</b>' });
    expect(await (await agent.get('/console/work')).text()).toContain('Issue reported on cutting.');
    const done = await agent.formFields(`/console/work/${stageId}/done`, `/console/stages/${stageId}/done`);
    await agent.post(`/console/stages/${stageId}/done`, { ...done, qty_good: '9', qty_scrap: '1' });
    expect(await (await agent.get('/console/work')).text()).toContain('cutting finished.');
    const stages = await body<{ status: string; qty_good: number; qty_scrap: number }[]>(
      await gw.req('GET', `/workorders/${wo.id}/stages`, { token: planner.token }),
    );
    expect(stages.data[0]).toMatchObject({ status: 'done', qty_good: 9, qty_scrap: 1 });

    const manager = await signedIn('manager');
    const board = await (await manager.agent.get('/console/board')).text();
    expect(board).toContain('blade &lt;b&gt;dull&lt;/b&gt;');
  });

  it('bad quantities come back as the API validation message, not a 500', async () => {
    const { planner, wo, stageId, agent } = await workerAtStage();
    await agent.post(`/console/stages/${stageId}/start`, await agent.formFields('/console/work', `/console/stages/${stageId}/start`));
    const done = await agent.formFields(`/console/work/${stageId}/done`, `/console/stages/${stageId}/done`);
    const res = await agent.post(`/console/stages/${stageId}/done`, { ...done, qty_good: '-3' });
    expect(res.status).toBe(303);
    expect(await (await agent.get('/console/work')).text()).toContain('The gateway could not do that:');
    expect(await stageStatus(planner.token, wo)).toBe('in_progress');
  });
});

describe('form protection and revocation', () => {
  it('refuses a POST without the CSRF token, or from another origin, and changes nothing', async () => {
    const { planner, wo, stageId, agent } = await workerAtStage();
    const fields = await agent.formFields('/console/work', `/console/stages/${stageId}/start`);
    expect((await agent.post(`/console/stages/${stageId}/start`, { idem: fields.idem ?? '' })).status).toBe(403);
    expect((await agent.post(`/console/stages/${stageId}/start`, { ...fields, csrf: 'forged' })).status).toBe(403);
    expect((await agent.post(`/console/stages/${stageId}/start`, fields, { origin: 'http://evil.example' })).status).toBe(403);
    expect(await stageStatus(planner.token, wo)).toBe('planned');
  });

  it('a deactivated user’s next action is sent to sign-in and does not apply', async () => {
    const admin = await gw.login('admin');
    const { planner, wo, stageId, user, agent } = await workerAtStage();
    const fields = await agent.formFields('/console/work', `/console/stages/${stageId}/start`);
    expect((await gw.req('PATCH', `/auth/users/${user.id}`, { token: admin.token, body: { active: false } })).status).toBe(200);
    const res = await agent.post(`/console/stages/${stageId}/start`, fields);
    expect(res.headers.get('location')).toBe('/console/login');
    expect(await stageStatus(planner.token, wo)).toBe('planned');
    expect(await (await agent.get('/console/login')).text()).toContain('Your session has ended.');
  });
});

describe('admin users page', () => {
  it('creates a user, changes its role and deactivates it; all through the API', async () => {
    const { agent } = await signedIn('admin');
    const create = await agent.formFields('/console/users', '/console/users');
    await agent.post('/console/users', { ...create, username: 'newbie', password: 'newbie-password', role: 'worker' });
    const page = await (await agent.get('/console/users')).text();
    expect(page).toContain('User created.');
    expect(page).toContain('newbie');
    const newbie = new ConsoleAgent(gw);
    expect((await newbie.signIn('newbie', 'newbie-password')).headers.get('location')).toBe('/console/work');

    const id = (/data-user="(\d+)" aria-label="newbie"/.exec(page) ?? [])[1] ?? '0';
    await agent.post(`/console/users/${id}/role`, { ...(await agent.formFields('/console/users', `/console/users/${id}/role`)), role: 'manager' });
    expect((await newbie.get('/console/work')).status).toBe(403);
    // Anything but the form's own values is refused and changes nothing.
    // Deactivating asks first, on a page of its own (works without JavaScript).
    const activeForm = await agent.formFields(`/console/users/${id}/deactivate`, `/console/users/${id}/active`);
    for (const active of ['maybe', '', 'TRUE']) {
      await agent.post(`/console/users/${id}/active`, { ...activeForm, active });
      expect(await (await agent.get('/console/users')).text()).toContain('The gateway could not do that:');
      expect((await newbie.get('/console/board')).status).toBe(200);
    }
    await agent.post(`/console/users/${id}/active`, activeForm);
    expect((await newbie.get('/console/board')).headers.get('location')).toBe('/console/login');
    // The state reads as a state, next to the action that would change it.
    const card = (await (await agent.get('/console/users')).text()).split(`data-user="${id}"`)[1]?.split('</section>')[0] ?? '';
    expect(card).toMatch(/<span class="status offline">Inactive<\/span>/);
    expect(card).toContain('>Activate</button>');
  });
});

describe('console when the gateway cannot answer', () => {
  it('shows a 503 page instead of an empty machine list, and keeps the session', async () => {
    const admin = await gw.login('admin');
    expect((await gw.req('POST', '/machines', { token: admin.token, body: { name: 'press-503', machine_type: 'press' } })).status).toBe(201);
    const { agent } = await signedIn('manager');
    // The latest-values table out of reach: GET /machines answers 500, as a failing disk would 503.
    gw.ctx.store.sqlite.exec('ALTER TABLE machine_latest RENAME TO machine_latest_away');
    const res = await agent.get('/console/machines');
    const html = await res.text();
    expect(res.status).toBe(503);
    expect(html).toContain('cannot show this right now');
    expect(html).not.toContain('press-503');
    gw.ctx.store.sqlite.exec('ALTER TABLE machine_latest_away RENAME TO machine_latest');
    // Storage unavailable (the API's 503 with Retry-After): the page passes the wait on.
    const read = gw.ctx.store.read;
    gw.ctx.store.read = () => {
      throw unavailable();
    };
    const busy = await agent.get('/console/machines');
    gw.ctx.store.read = read;
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await busy.text()).toContain('storage is temporarily unavailable');
    const again = await agent.get('/console/machines');
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('press-503');
  });

  it('says the gateway failed, not that the password was wrong, when a sign-in cannot be stored', async () => {
    const slow = makeGateway({}, undefined, 'storage:\n  write_wait_ms: 50\n');
    try {
      const worker = await slow.login('worker');
      const other = new Sqlite(path.join(slow.dir, 'gateway.db'));
      other.prepare('BEGIN IMMEDIATE').run();
      try {
        const res = await new ConsoleAgent(slow).signIn(worker.username, worker.password);
        expect(res.status).toBe(503);
        const html = await res.text();
        expect(html).toContain('The gateway could not do that');
        expect(html).not.toContain('Wrong username or password');
        expect(res.headers.getSetCookie().some((c) => c.startsWith('gw_session=') && !/max-age=0/i.test(c))).toBe(false);
      } finally {
        other.prepare('ROLLBACK').run();
        other.close();
      }
    } finally {
      slow.close();
    }
  });
});

describe('for the floor: plant time, clear actions, plain words', () => {
  it('shows times in PLANT_TZ with its zone on My work and the Board, and "today" is the plant’s day', async () => {
    const berlin = makeGateway({ PLANT_TZ: 'Europe/Berlin' });
    try {
      const planner = await berlin.login('planner');
      // 08:00–16:00 UTC on 26 November is 09:00–17:00 CET; the clock stands at 08:00 UTC.
      const wo = await createWorkOrder(berlin, planner.token, {
        stages: [{ stage_name: 'cutting', planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T23:30:00Z' }],
      });
      const worker = await berlin.login('worker');
      expect((await berlin.req('POST', `/stages/${wo.stages[0]?.id}/assignments`, { token: planner.token, body: { user_id: worker.id } })).status).toBe(201);
      const agent = new ConsoleAgent(berlin);
      await agent.signIn(worker.username, worker.password);
      const work = await (await agent.get('/console/work')).text();
      // 23:30 UTC is already the next day in Berlin: the date is shown.
      expect(work).toContain('Planned: 09:00 CET – 2026-11-27 00:30 CET');
      expect(work).not.toContain('UTC');
      const manager = new ConsoleAgent(berlin);
      const boss = await berlin.login('manager');
      await manager.signIn(boss.username, boss.password);
      const board = await (await manager.get('/console/board')).text();
      expect(board).toContain('09:00 CET – 17:00 CET');
      expect(board).not.toContain('UTC');
    } finally {
      berlin.close();
    }
  });

  it('a running stage offers Done… (primary), Pause… and Report an issue… as buttons, with the time worked and paused', async () => {
    const { stageId, agent, planner, wo } = await workerAtStage();
    await agent.post(`/console/stages/${stageId}/start`, await agent.formFields('/console/work', `/console/stages/${stageId}/start`));
    gw.clock.advance(75 * 60_000);
    await agent.post(`/console/stages/${stageId}/pause`, {
      ...(await agent.formFields(`/console/work/${stageId}/pause`, `/console/stages/${stageId}/pause`)),
      reason: 'no material',
    });
    gw.clock.advance(10 * 60_000);
    let html = await (await agent.get('/console/work')).text();
    expect(html).toContain('cutting paused.');
    expect(html).toContain('Worked 1 h 15 min</strong> · paused 10 min in all');
    expect(html).toMatch(/<button type="submit">Resume<\/button>/);
    await agent.post(`/console/stages/${stageId}/resume`, await agent.formFields('/console/work', `/console/stages/${stageId}/resume`));
    html = await (await agent.get('/console/work')).text();
    expect(html).not.toContain('<summary');
    expect(html).toContain(`<form method="get" action="/console/work/${stageId}/done"><button type="submit" class="finish">Done…</button></form>`);
    expect(html).toContain(`<form method="get" action="/console/work/${stageId}/pause"><button type="submit" class="secondary">Pause…</button></form>`);
    expect(html).toContain(
      `<form method="get" action="/console/work/${stageId}/issue"><button type="submit" class="secondary">Report an issue…</button></form>`,
    );
    // The confirmation is a page of its own (it works with JavaScript off), and says why it asks.
    const confirm = await (await agent.get(`/console/work/${stageId}/done`)).text();
    expect(confirm).toContain('<h1>Finish cutting?</h1>');
    expect(confirm).toContain('Finishing a stage cannot be undone.');
    expect(confirm).toContain('Yes, finish cutting');
    // Another worker cannot open a step of a stage that is not theirs, nor a step that does not exist.
    const other = await signedIn('worker');
    expect((await other.agent.get(`/console/work/${stageId}/done`)).status).toBe(404);
    expect((await agent.get(`/console/work/${stageId}/delete`)).status).toBe(404);
    expect(await stageStatus(planner.token, wo)).toBe('in_progress');
  });

  it('the System page speaks in sentences: sync off said so, disk in GiB, no raw field names', async () => {
    const { agent } = await signedIn('admin');
    const html = await (await agent.get('/console/system')).text();
    expect(html).toContain('Sync to HQ is off: no HQ database is configured');
    expect(html).toMatch(/data-disk-free="true">\d+\.\d GiB free of \d+\.\d GiB \(\d+%\)/);
    expect(html).not.toMatch(/>\s*enabled\s*<|>\s*rejected\s*<|>\s*backlog\s*</);
  });

  it('each System warning says what it means for the floor', async () => {
    // A PLC that stopped answering, as its driver reports it to GET /drivers/status.
    gw.ctx.statusBoard.addDevice(() => ({
      device: 'press-plc',
      protocol: 'modbus-tcp',
      connected: false,
      last_poll_at: T0 - 60_000,
      last_success_at: T0 - 300_000,
      last_error: 'connect ECONNREFUSED 10.0.0.7:502',
      last_error_at: T0 - 60_000,
      poll_duration_ms: null,
      tags_total: 3,
      tags_good: 0,
      tags_bad: 2,
      tags_uncertain: 1,
    }));
    const { agent } = await signedIn('manager');
    const html = await (await agent.get('/console/system')).text();
    expect(html).toContain('Last good read at 07:55 UTC. 3 tags: 0 good, 2 bad, 1 uncertain.');
    expect(html).toContain('The gateway cannot reach this device.');
    expect(html).toContain('Its machines get no new values: they turn stale on the Machines page.');
    expect(html).toContain('2 tags read bad values.');
    expect(html).toContain('1 tag reads uncertain values.');
    expect(html).toContain('Last error (07:59 UTC): connect ECONNREFUSED 10.0.0.7:502');
  });
});
