import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/main.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { listeningGateway } from './helpers/app.ts';
// Touch targets, standards mode and axe-core, shared with test/console-station-browser.test.ts.
import { audit, CHROMIUM, callApi, SIZES } from './helpers/browser.ts';
import { freePort, loginOverHttp } from './helpers/server.ts';
import { ModbusSim } from './sim/modbus-sim.ts';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI)
  console.warn(`console browser tests skipped: no ${CHROMIUM} (apt-get install -y chromium); in CI they run and fail instead`);

const SHOTS = path.resolve('reports/console');
// Not UTC, so a time shown in UTC by mistake cannot pass for plant time.
const PLANT_TZ = 'America/Chicago';
const PASSWORD = 'console-test-password';

let dir: string;
let gw: RunningGateway;
let base: string;
let browser: Browser;
let plc: ModbusSim;
const contexts: BrowserContext[] = [];

/** "07:05 CST" as a plant clock reads it, computed here with Intl, independently of the console. */
function plantClock(ms: number): string {
  const hhmm = new Intl.DateTimeFormat('en-US', { timeZone: PLANT_TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
  const zone = new Intl.DateTimeFormat('en-US', { timeZone: PLANT_TZ, timeZoneName: 'short' }).formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value;
  return `${hhmm} ${zone}`;
}

const api = (method: string, url: string, token: string, body?: unknown) => callApi(base, method, url, token, body);
const tokenOf = (username: string): Promise<string> => loginOverHttp(base, username, PASSWORD);

/** The shared audit, and on a phone nothing wider than the screen: no action may hide off to the side. */
async function auditPage(page: Page, what: string) {
  await audit(page, what);
  await page.setViewportSize(SIZES.phone);
  expect(await page.evaluate('document.documentElement.scrollWidth'), `${what}: page wider than a phone`).toBeLessThanOrEqual(SIZES.phone.width);
  await page.setViewportSize(SIZES.tablet);
}

/** A fresh browser context (its own cookies), signed in through the sign-in form. */
async function signIn(username: string): Promise<Page> {
  const context = await browser.newContext({ viewport: SIZES.tablet });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('form[action="/console/logout"]');
  return page;
}

/** The page at both sizes, as reports/console/<name>-<size>.png. */
async function shoot(page: Page, name: string) {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(SIZES.tablet);
}

const stageForm = (page: Page, stageId: number, action: string) => page.locator(`form[action="/console/stages/${stageId}/${action}"]`);

// A real browser on a 2-core machine shared with other suites: generous per-test budget, no sleeps.
describe.skipIf(!haveChromium && !process.env.CI)('floor console in a real browser', { timeout: 120_000 }, () => {
  const users: Record<string, { id: number; token: string }> = {};
  let stages: number[] = [];
  let machineId = 0;
  let fanId = 0;
  let woTimes: { start: number; end: number } = { start: 0, end: 0 };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'gw-console-'));
    // A real Modbus PLC for 'Fan 1': its tags name their unit, one its display name, and the fan
    // speed is read every 2.5 minutes (the chart must not call the minutes between "no data").
    plc = new ModbusSim(await freePort());
    await plc.start();
    plc.holding[0] = 1450;
    plc.holding[1] = 41;
    const cfgDir = path.join(dir, 'config');
    mkdirSync(cfgDir);
    writeFileSync(
      path.join(cfgDir, 'devices.yaml'),
      JSON.stringify({
        machines: [{ name: 'Fan 1', machine_type: 'fan', location: 'Hall B' }],
        devices: [
          {
            name: 'fan-plc',
            protocol: 'modbus-tcp',
            machine: 'Fan 1',
            host: '127.0.0.1',
            port: plc.port,
            poll_interval_ms: 200,
            tags: [
              { name: 'speed', reading_type: 'fan_speed', unit: 'rpm', area: 'holding', address: 0, data_type: 'uint16', poll_interval_ms: 150_000 },
              { name: 'motor', reading_type: 'motor_temp', display_name: 'Motor temperature', unit: '°C', area: 'holding', address: 1, data_type: 'int16' },
            ],
          },
        ],
      }),
    );
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'devices_file: devices.yaml\nreadings:\n  flush_interval_ms: 50\n  heartbeat_s: 60\n');
    ({ gw, base } = await listeningGateway(dir, { CONFIG_DIR: cfgDir, PLANT_TZ }));
    for (const [name, role] of [
      ['wanda', 'worker'],
      ['walt', 'worker'],
      ['mona', 'manager'],
      ['pete', 'planner'],
      ['ada', 'admin'],
    ] as const) {
      const user = await createUser(gw.ctx, { username: name, password: PASSWORD, role });
      users[name] = { id: user.id, token: await tokenOf(name) };
    }
    const planner = users.pete?.token ?? '';
    const now = Date.now();
    woTimes = { start: now - 3600_000, end: now + 3600_000 };
    const wo = await api('POST', '/workorders', planner, {
      product_code: 'BRACKET-7',
      lot_no: 'L-0042',
      qty: 10,
      planned_start: new Date(now - 3600_000).toISOString(),
      planned_end: new Date(now + 3600_000).toISOString(),
      stages: [{ stage_name: 'Cutting' }, { stage_name: 'Welding' }, { stage_name: 'Painting' }],
    });
    stages = ((wo?.stages ?? []) as { id: number }[]).map((s) => s.id);
    await api('POST', `/stages/${stages[0]}/assignments`, planner, { user_id: users.wanda?.id });
    await api('POST', `/stages/${stages[1]}/assignments`, planner, { user_id: users.wanda?.id });
    await api('POST', `/stages/${stages[2]}/assignments`, planner, { user_id: users.walt?.id });
    machineId = (await api('POST', '/machines', planner, { name: 'Press 1', machine_type: 'press', location: 'Hall A' }))?.id ?? 0;
    // The last hour of temperature for the chart: a warm-up each minute with one bad reading, then a quiet spell.
    await api(
      'POST',
      `/machines/${machineId}/readings`,
      planner,
      Array.from({ length: 36 }, (_, i) => ({
        reading_type: 'temperature',
        value: Math.round((20 + 25 * Math.sin(i / 8) + (i % 3)) * 10) / 10,
        unit: 'C',
        quality: i === 20 ? 'bad' : 'good',
        timestamp: new Date(now - (55 - i) * 60_000).toISOString(),
      })),
    );
    await api('POST', `/machines/${machineId}/readings`, planner, [
      { reading_type: 'temperature', value: 20.5, unit: 'C' },
      { reading_type: 'pressure', value: 0, unit: 'bar', quality: 'bad' },
      { reading_type: 'speed', value: 900, unit: 'rpm', timestamp: new Date(now - 3600_000).toISOString() },
    ]);
    // Fan 1 came from the device config; its speed every 2.5 minutes over the last hour.
    const listed = await fetch(`${base}/machines?limit=100`, { headers: { authorization: `Bearer ${planner}` } });
    fanId = ((await listed.json()) as { data: { id: number; name: string }[] }).data.find((m) => m.name === 'Fan 1')?.id ?? 0;
    await api(
      'POST',
      `/machines/${fanId}/readings`,
      planner,
      Array.from({ length: 24 }, (_, i) => ({
        reading_type: 'fan_speed',
        value: 1400 + i * 5,
        unit: 'rpm',
        timestamp: new Date(now - 3600_000 + 60_000 + i * 150_000).toISOString(),
      })),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright gives each launch a fresh temporary user-data-dir.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await gw?.stop();
    await plc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a worker starts, reports an issue on and finishes a stage; the supervisor sees the issue arrive and acknowledges it', async () => {
    const anon = await (await browser.newContext({ viewport: SIZES.tablet })).newPage();
    contexts.push(anon.context());
    await anon.goto(`${base}/`);
    await anon.getByRole('button', { name: 'Sign in' }).waitFor();
    await shoot(anon, 'login');

    const board = await signIn('mona');
    await board.getByText('No open issues.').waitFor();

    const worker = await signIn('wanda');
    await worker.getByRole('heading', { name: 'My work' }).waitFor();
    expect(await worker.getByText('Painting').count()).toBe(0);
    await shoot(worker, 'work');
    // A planned stage: Start is the one primary action.
    const card = worker.locator(`[data-stage="${stages[0]}"]`);
    expect(await card.locator('button:not(.secondary)').allInnerTexts()).toEqual(['Start']);
    await stageForm(worker, stages[0] ?? 0, 'start')
      .getByRole('button', { name: 'Start' })
      .click();
    // The message names the stage; a running stage shows how long it has been worked on.
    await worker.getByText('Cutting started.').waitFor();
    await card.getByText('Worked less than a minute').waitFor();
    // Running: real buttons; Done is the primary one, set apart from Pause in colour; nothing hides behind a toggle.
    expect(await card.locator('summary').count()).toBe(0);
    const doneButton = card.getByRole('button', { name: 'Done…' });
    const pauseButton = card.getByRole('button', { name: 'Pause…' });
    const background = (b: typeof doneButton) =>
      b.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
    expect(await background(doneButton)).not.toBe(await background(pauseButton));
    expect(await card.locator('button:not(.secondary)').allInnerTexts()).toEqual(['Done…']);

    await card.getByRole('button', { name: 'Report an issue…' }).click();
    const issue = stageForm(worker, stages[0] ?? 0, 'issue');
    await issue.getByLabel('Issue type').selectOption('tooling');
    await issue.getByLabel('What is wrong?').fill('Saw blade is dull');
    await shoot(worker, 'work-issue');
    await issue.getByRole('button', { name: 'Send' }).click();
    await worker.getByText('Issue reported on Cutting.').waitFor();

    // Done cannot be undone: it asks on a page of its own, and Cancel changes nothing.
    await card.getByRole('button', { name: 'Done…' }).click();
    await worker.getByText('Finishing a stage cannot be undone.').waitFor();
    await worker.getByRole('link', { name: 'Cancel' }).click();
    await worker.getByRole('heading', { name: 'My work' }).waitFor();
    expect(gw.ctx.store.sqlite.prepare('SELECT status FROM work_order_stages WHERE id = ?').get(stages[0])).toEqual({ status: 'in_progress' });
    await card.getByRole('button', { name: 'Done…' }).click();
    const done = stageForm(worker, stages[0] ?? 0, 'done');
    await done.getByLabel('Good quantity').fill('9');
    await done.getByLabel('Scrap quantity').fill('1');
    await shoot(worker, 'work-done');
    await done.getByRole('button', { name: 'Yes, finish Cutting' }).click();
    await worker.getByText('Cutting finished.').waitFor();
    const finished = gw.ctx.store.sqlite.prepare('SELECT status, qty_good, qty_scrap FROM work_order_stages WHERE id = ?').get(stages[0]);
    expect(finished).toEqual({ status: 'done', qty_good: 9, qty_scrap: 1 });

    // The board was open all along: the issue arrives over SSE without a reload.
    await board.getByText('Saw blade is dull').waitFor();
    // Who reported it and how long ago; Acknowledge first and primary, Resolve outlined.
    const row = board.locator('tr', { hasText: 'Saw blade is dull' });
    expect(await row.locator('[data-reported]').innerText()).toMatch(/^wanda, less than a minute ago\s+\d\d:\d\d C[SD]T$/);
    expect(await row.getByRole('button').allInnerTexts()).toEqual(['Acknowledge', 'Resolve']);
    expect(await row.getByRole('button', { name: 'Resolve' }).getAttribute('class')).toBe('secondary');
    expect(await row.getByRole('button', { name: 'Acknowledge' }).getAttribute('class')).toBeNull();
    // Work-order cards: planned times in plant time; a stage line without delay or assignee says neither.
    const woCard = board.locator('[data-wo]', { hasText: 'BRACKET-7' });
    expect(await woCard.innerText()).toContain(plantClock(woTimes.start));
    expect(await woCard.innerText()).toContain(plantClock(woTimes.end));
    expect(await woCard.innerText()).not.toMatch(/Delay: —|Assigned: —|UTC/);
    expect(await woCard.locator('li', { hasText: 'Painting' }).innerText()).toMatch(/^Painting planned · Assigned: walt$/);
    await shoot(board, 'board');
    await board.getByRole('button', { name: 'Acknowledge' }).click();
    await board.getByText('Issue acknowledged.').waitFor();
    expect(await board.locator('.status.ack').count()).toBe(1);
  });

  it('a double tap on Start applies once', async () => {
    const worker = await signIn('wanda');
    await stageForm(worker, stages[1] ?? 0, 'start')
      .getByRole('button', { name: 'Start' })
      .dblclick();
    await worker.getByText('Welding started.').waitFor();
    const started = gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE kind = 'stage.started' AND entity_id = ?").get(stages[1]) as {
      n: number;
    };
    expect(started.n).toBe(1);
  });

  it('a running stage’s worked time counts on screen without a reload', async () => {
    const worker = await signIn('wanda');
    // The page's own clock, five minutes on: Welding (started by the double tap) has run that long more.
    await worker.clock.install();
    await worker.reload();
    const welding = worker.locator(`[data-stage="${stages[1]}"] [data-elapsed]`);
    expect(await welding.innerText()).toMatch(/^Worked (less than a minute|[1-3] min)$/);
    await worker.clock.fastForward('05:00');
    await expect.poll(() => welding.innerText()).toMatch(/^Worked [5-8] min$/);
  });

  it('a machine value changes on screen without a reload when a reading arrives', async () => {
    const page = await signIn('wanda');
    await page.goto(`${base}/console/machines`);
    const temperature = page.locator(`[data-machine="${machineId}"] [data-reading="temperature"] [data-value]`);
    await expect.poll(() => temperature.textContent()).toContain('20.5');
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 1;
    });
    await shoot(page, 'machines');
    await api('POST', `/machines/${machineId}/readings`, users.pete?.token ?? '', { reading_type: 'temperature', value: 73.25, unit: 'C' });
    await page.locator(`[data-machine="${machineId}"] [data-reading="temperature"] [data-value]`, { hasText: '73.25' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
    expect(await page.locator('[data-reading="pressure"] .q-bad').count()).toBe(1);
    expect(await page.locator('[data-reading="speed"] .q-stale').count()).toBe(1);

    // "Last seen" moves with the values: the PLC's motor temperature changes, the page follows.
    const fan = page.locator(`[data-machine="${fanId}"]`);
    const seen = fan.locator('[data-last-seen]');
    const before = Number(await seen.getAttribute('data-last-seen'));
    plc.holding[1] = 57;
    await fan.locator('[data-reading="motor_temp"] [data-value]', { hasText: '57' }).waitFor();
    await expect.poll(async () => Number(await seen.getAttribute('data-last-seen'))).toBeGreaterThan(before);
    const rowTime = (await fan.locator('[data-reading="motor_temp"] [data-time]').innerText()).trim();
    expect(await seen.innerText()).toBe(rowTime);
    expect(rowTime).toBe(plantClock(Number(await seen.getAttribute('data-last-seen'))));
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(1);
  });

  it('reading types carry the display name and unit of their tag; the chart shades no data by the tag’s own period, in plant time', async () => {
    const page = await signIn('wanda');
    await page.goto(`${base}/console/machines`);
    const fan = page.locator(`[data-machine="${fanId}"]`);
    await fan.getByRole('link', { name: 'Motor temperature, °C' }).waitFor();
    await fan.getByRole('link', { name: 'Fan speed, rpm' }).click();
    await page.waitForURL(/\?type=fan_speed/);
    await page.getByRole('img', { name: /Fan 1: Fan speed, rpm/ }).waitFor();
    // Read every 2.5 minutes: the minutes between two readings are not missing data.
    expect(await page.locator('[data-chart] .gap').count()).toBe(0);
    expect(await page.locator('[data-chart] figcaption').innerText()).not.toContain('No data');
    // The axis and the caption in plant time, with its zone.
    const axis = await page.locator('[data-chart] text.axis').allTextContents();
    expect(axis.filter((x) => /^\d\d:\d\d C[SD]T$/.test(x))).toHaveLength(2);
    expect(await page.locator('main').innerText()).not.toContain('UTC');
    await shoot(page, 'machine-fan');
  });

  it('a machine’s value and its one-hour chart change on screen from the live stream, without a reload or polling', async () => {
    const page = await signIn('wanda');
    await page.goto(`${base}/console/machines`);
    await page.getByRole('link', { name: 'Temperature, C' }).click();
    await page.waitForURL(/\/console\/machines\/\d+\?type=temperature/);
    const chart = page.getByRole('img', { name: /Press 1: Temperature, C/ });
    await chart.waitFor();
    expect(await page.locator('[data-chart] .bad').count()).toBe(1);
    expect(await page.locator('[data-chart] .gap').count()).toBeGreaterThan(0);
    await shoot(page, 'machine-chart');
    await page.getByText('The same data as a table').click();
    await page.getByRole('columnheader', { name: 'Mean' }).waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 2;
    });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await api('POST', `/machines/${machineId}/readings`, users.pete?.token ?? '', { reading_type: 'temperature', value: 88.5, unit: 'C' });
    await page.locator('[data-reading="temperature"] [data-value]', { hasText: '88.5' }).waitFor();
    await page.locator('[data-chart] desc', { hasText: 'last 88.5 C' }).waitFor({ state: 'attached' });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(2);
    // Pushed, not polled: the only request the page made was the chart fragment the stream asked for.
    expect(new Set(requests)).toEqual(new Set([`/console/machines/${machineId}/chart`]));
    // The table the user opened stays open through the redraw.
    expect(await page.getByRole('columnheader', { name: 'Mean' }).isVisible()).toBe(true);
  });

  it('a planner assigns a worker by picking a name', async () => {
    const page = await signIn('pete');
    await page.goto(`${base}/console/board`);
    const form = page.locator(`form[action="/console/assign/${stages[2]}"]`);
    await form.getByLabel('Worker').selectOption({ label: 'wanda' });
    await shoot(page, 'board-planner');
    await form.getByRole('button', { name: 'Assign' }).click();
    await page.getByText('Worker assigned.').waitFor();
    const assigned = gw.ctx.store.sqlite.prepare('SELECT user_id FROM stage_assignments WHERE stage_id = ?').all(stages[2]) as { user_id: number }[];
    expect(new Set(assigned.map((a) => a.user_id))).toEqual(new Set([users.walt?.id, users.wanda?.id]));
  });

  it('a deactivated user’s open page is sent to sign-in on its next action', async () => {
    const page = await signIn('walt');
    await stageForm(page, stages[2] ?? 0, 'start').waitFor();
    await api('PATCH', `/auth/users/${users.walt?.id}`, users.ada?.token ?? '', { active: false });
    await stageForm(page, stages[2] ?? 0, 'start')
      .getByRole('button', { name: 'Start' })
      .click();
    await page.getByText('Your session has ended.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/login');
  });

  it('a CSRF-less post from the browser is refused', async () => {
    const page = await signIn('mona');
    const status = await page.evaluate(
      async () => (await fetch('/console/issues/1/1', { method: 'POST', body: new URLSearchParams({ status: 'resolved' }) })).status,
    );
    expect(status).toBe(403);
  });

  it('system and users pages render for an admin (screenshots)', async () => {
    const page = await signIn('ada');
    await page.goto(`${base}/console/system`);
    await page.getByRole('heading', { name: 'Storage' }).waitFor();
    // In words a plant engineer reads: sentences, disk in GiB, no raw field names.
    const text = await page.locator('main').innerText();
    expect(text).toContain('Sync to HQ is off');
    expect(text).toMatch(/Free disk space\s+\d+\.\d GiB free of \d+\.\d GiB \(\d+%\)/);
    expect(text).toMatch(/2 tags: \d good, 0 bad, \d uncertain\./);
    expect(text).toMatch(/Last good read at \d\d:\d\d C[SD]T/);
    expect(text).not.toMatch(/\benabled\b|\brejected\b|tags total|last success at|UTC|MiB free/);
    await shoot(page, 'system');
    await page.goto(`${base}/console/users`);
    await page.getByRole('button', { name: 'Create user' }).waitFor();
    await shoot(page, 'users');
  });

  it('every page is in standards mode, has no control under 56 px on a tablet or 48 on a phone, fits a phone’s width, and has no serious or critical WCAG 2.1 A/AA violation', async () => {
    const anon = await (await browser.newContext({ viewport: SIZES.tablet })).newPage();
    contexts.push(anon.context());
    await anon.goto(`${base}/console/login`);
    await auditPage(anon, 'sign-in');

    const worker = await signIn('wanda');
    // Welding runs since the double-tap test: its actions, and each step's page.
    await auditPage(worker, 'my work');
    for (const step of ['done', 'pause', 'issue']) {
      await worker.goto(`${base}/console/work/${stages[1]}/${step}`);
      await auditPage(worker, `my work: ${step}`);
    }
    await worker.goto(`${base}/console/machines`);
    await worker.locator('[data-reading="speed"] .q-stale').waitFor();
    await auditPage(worker, 'machines (with a stale, a bad and a live value)');
    await worker.goto(`${base}/console/machines/${machineId}?type=temperature`);
    await worker.getByText('The same data as a table').click();
    await auditPage(worker, 'machine with its chart and table open');

    const planner = await signIn('pete');
    await planner.goto(`${base}/console/board`);
    await auditPage(planner, 'board (planner)');
    const admin = await signIn('ada');
    for (const p of ['system', 'users']) {
      await admin.goto(`${base}/console/${p}`);
      await auditPage(admin, p);
    }
    await admin.goto(`${base}/console/no-such-page`);
    await auditPage(admin, '404 page');
  });
});
