import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/main.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { listeningGateway } from './helpers/app.ts';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI)
  console.warn(`console browser tests skipped: no ${CHROMIUM} (apt-get install -y chromium); in CI they run and fail instead`);

const SHOTS = path.resolve('reports/console');
const SIZES = { tablet: { width: 1024, height: 768 }, phone: { width: 390, height: 844 } };
const PASSWORD = 'console-test-password';

let dir: string;
let gw: RunningGateway;
let base: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function api(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as { data: Record<string, unknown> & { id: number } }).data : undefined;
}

async function tokenOf(username: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return ((await res.json()) as { data: { access_token: string } }).data.access_token;
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

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'gw-console-'));
    ({ gw, base } = await listeningGateway(dir));
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
    await stageForm(worker, stages[0] ?? 0, 'start')
      .getByRole('button', { name: 'Start' })
      .click();
    await worker.getByText('Stage started.').waitFor();

    await worker.locator(`[data-stage="${stages[0]}"] summary`, { hasText: 'Report an issue' }).click();
    const issue = stageForm(worker, stages[0] ?? 0, 'issue');
    await issue.getByLabel('Issue type').selectOption('tooling');
    await issue.getByLabel('What is wrong?').fill('Saw blade is dull');
    await issue.getByRole('button', { name: 'Send' }).click();
    await worker.getByText('Issue reported.').waitFor();

    await worker.locator(`[data-stage="${stages[0]}"] summary`, { hasText: 'Done' }).click();
    const done = stageForm(worker, stages[0] ?? 0, 'done');
    await done.getByLabel('Good quantity').fill('9');
    await done.getByLabel('Scrap quantity').fill('1');
    await done.getByRole('button', { name: 'Done' }).click();
    await worker.getByText('Stage finished.').waitFor();
    const finished = gw.ctx.store.sqlite.prepare('SELECT status, qty_good, qty_scrap FROM work_order_stages WHERE id = ?').get(stages[0]);
    expect(finished).toEqual({ status: 'done', qty_good: 9, qty_scrap: 1 });

    // The board was open all along: the issue arrives over SSE without a reload.
    await board.getByText('Saw blade is dull').waitFor();
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
    await worker.getByText('Stage started.').waitFor();
    const started = gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE kind = 'stage.started' AND entity_id = ?").get(stages[1]) as {
      n: number;
    };
    expect(started.n).toBe(1);
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
  });

  it('a machine’s value and its one-hour chart change on screen from the live stream, without a reload or polling', async () => {
    const page = await signIn('wanda');
    await page.goto(`${base}/console/machines`);
    await page.getByRole('link', { name: 'temperature' }).click();
    await page.waitForURL(/\/console\/machines\/\d+\?type=temperature/);
    const chart = page.getByRole('img', { name: /Press 1: temperature/ });
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
    await shoot(page, 'system');
    await page.goto(`${base}/console/users`);
    await page.getByRole('button', { name: 'Create user' }).waitFor();
    await shoot(page, 'users');
  });
});
