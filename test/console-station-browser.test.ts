import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATION_COOKIE } from '../src/console/session.ts';
import type { RunningGateway } from '../src/main.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { TOUCH_EVERY_MS } from '../src/modules/stations/service.ts';
import { listeningGateway } from './helpers/app.ts';
import { audit, CHROMIUM, callApi, SIZES } from './helpers/browser.ts';
import { loginOverHttp } from './helpers/server.ts';

const haveChromium = existsSync(CHROMIUM);
const SHOTS = path.resolve('reports/console');
const PASSWORD = 'station-test-password';
const IDLE_S = 30;

let dir: string;
let gw: RunningGateway;
let base: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function newPage(opts: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: SIZES.tablet, ...opts });
  contexts.push(context);
  return context.newPage();
}

async function signInWithPassword(page: Page, username: string) {
  await page.goto(`${base}/console/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).first().click();
  await page.waitForSelector('form[action="/console/logout"]');
}

async function signOut(page: Page) {
  await page.locator('form[action="/console/logout"] button').click();
  await page.waitForURL(/\/console\/login/);
}

const api = (method: string, url: string, token: string, body?: unknown) => callApi(base, method, url, token, body);
const tokenOf = (username: string): Promise<string> => loginOverHttp(base, username, PASSWORD);

/** A badge reader: the number typed as keys, then Enter. */
async function scanBadge(page: Page, badge: string) {
  await page.keyboard.type(badge);
  await page.keyboard.press('Enter');
}

/** Waits until the element is on screen (a failure names what was expected). */
const seen = (l: Locator) => l.first().waitFor({ state: 'visible', timeout: 10_000 });

/** Nothing wider than a phone's screen: no action may hide off to the side. */
async function fitsPhone(page: Page, what: string) {
  await page.setViewportSize(SIZES.phone);
  expect(await page.evaluate('document.documentElement.scrollWidth'), `${what}: page wider than a phone`).toBeLessThanOrEqual(SIZES.phone.width);
  await page.setViewportSize(SIZES.tablet);
}

const focused = (page: Page): Promise<string> => page.evaluate('document.activeElement && document.activeElement.id');

describe.skipIf(!haveChromium && !process.env.CI)('station mode in a real browser', { timeout: 120_000 }, () => {
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gw-station-browser-'));
    mkdirSync(SHOTS, { recursive: true });
    ({ gw, base } = await listeningGateway(dir, { ADMIN_PASSWORD: PASSWORD, STATION_IDLE_SIGNOUT_S: String(IDLE_S) }));
    for (const [name, role] of [
      ['ana', 'worker'],
      ['ben', 'worker'],
      ['pia', 'planner'],
    ] as const) {
      ids[name] = (await createUser(gw.ctx, { username: name, password: PASSWORD, role })).id;
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await gw?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let station: Page;
  /** The station's cookie in a browser of its own: no fake clock or session left by another test. */
  const stationTab = async (): Promise<Page> => {
    const tab = await newPage();
    const marked = (await station.context().cookies()).filter((c) => c.name === STATION_COOKIE);
    expect(marked).toHaveLength(1);
    await tab.context().addCookies(marked);
    return tab;
  };

  it('an admin marks the tablet as a station and sets a badge and PIN on the Users page', async () => {
    station = await newPage();
    await signInWithPassword(station, 'admin');
    await station.goto(`${base}/console/users`);
    await seen(station.getByText('This browser is not a station.'));
    await station.getByLabel('Station name').fill('Saw 1');
    await station.getByRole('button', { name: 'Mark this browser as a station' }).click();
    await seen(station.getByText('This browser is now station “Saw 1”', { exact: false }).first());
    expect(await station.locator('tr[data-station]').count()).toBe(1);

    const card = station.locator(`section[data-user="${ids.ana}"]`);
    await card.getByLabel('Badge', { exact: true }).fill('4711');
    await card.getByLabel(/New PIN/).fill('24x8');
    // The browser's own check stops a PIN with a letter before it is sent.
    await card.getByRole('button', { name: 'Save badge and PIN' }).click();
    await seen(card.getByText('No badge.'));
    await card.getByLabel(/New PIN/).fill('2468');
    await card.getByRole('button', { name: 'Save badge and PIN' }).click();
    await seen(station.getByText('Badge and PIN saved.'));
    await seen(station.locator(`section[data-user="${ids.ana}"]`).getByText('Badge 4711, PIN set.'));
    await audit(station, 'users page with stations and badges');
    await fitsPhone(station, 'users page with stations and badges');
    await station.screenshot({ path: path.join(SHOTS, 'users-stations-tablet.png'), fullPage: true });
    await station.goto(`${base}/console/users/${ids.ben}/deactivate`);
    await audit(station, 'deactivate confirmation');
    await signOut(station);
  });

  it('on the station, a badge reader types the number and Enter: the PIN field takes over, and the worker is in', async () => {
    await station.goto(`${base}/console/login`);
    expect(await focused(station)).toBe('badge');
    await audit(station, 'station sign-in');
    await fitsPhone(station, 'station sign-in');
    for (const [size, viewport] of Object.entries(SIZES)) {
      await station.setViewportSize(viewport);
      await station.screenshot({ path: path.join(SHOTS, `station-sign-in-${size}.png`), fullPage: true });
    }
    await station.setViewportSize(SIZES.tablet);
    await scanBadge(station, '4711');
    expect(station.url()).toContain('/console/login');
    expect(await focused(station)).toBe('pin');
    await station.keyboard.type('2468');
    await station.keyboard.press('Enter');
    await station.waitForURL(/\/console\/work$/);
    await seen(station.getByText('ana (worker)'));
  });

  it('the live refresh of My work does not keep the station session alive on the server', async () => {
    const expiry = () =>
      (gw.ctx.store.sqlite.prepare('SELECT expires_at FROM sessions WHERE station_id IS NOT NULL AND revoked_at IS NULL').get() as { expires_at: number })
        .expires_at;
    const live = station.waitForResponse((r) => r.url().includes('/console/events'));
    await station.goto(`${base}/console/work`);
    await live;
    const before = expiry();
    // The server moves a station session's expiry at most every 5 s (TOUCH_EVERY_MS): wait that out first.
    await new Promise((r) => setTimeout(r, TOUCH_EVERY_MS + 500));
    const planner = await tokenOf('pia');
    // A shop-floor change makes the page re-fetch itself in the background (again until it does).
    const refetched = station.waitForResponse((r) => r.url() === `${base}/console/work` && r.request().resourceType() === 'fetch');
    let seenRefetch = false;
    void refetched.then(() => {
      seenRefetch = true;
    });
    for (let i = 0; i < 20 && !seenRefetch; i++) {
      await api('POST', '/workorders', planner, {
        product_code: `P-${i}`,
        lot_no: `L-${i}`,
        qty: 1,
        planned_start: new Date().toISOString(),
        planned_end: new Date(Date.now() + 3_600_000).toISOString(),
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    const request = (await refetched).request();
    expect(expiry()).toBe(before);
    expect(request.headers()['x-gw-background']).toBe('1');
    // What the worker does counts: opening a page moves the expiry on.
    await station.goto(`${base}/console/work`);
    expect(expiry()).toBeGreaterThan(before);
  });

  it('a wrong PIN reads as such and leaves the badge field ready for the next scan', async () => {
    await signOut(station);
    await scanBadge(station, '4711');
    await station.keyboard.type('1111');
    await station.keyboard.press('Enter');
    await seen(station.getByText('Wrong badge or PIN.'));
    expect(await focused(station)).toBe('badge');
  });

  it('the page signs the worker out after the idle time, and the server has ended the session', async () => {
    const tablet = await stationTab();
    // The page's clock stands still until the test moves it: a clock left running also moved the
    // page's countdown on with real time, so a slow box ate into the 5 s left after the first jump.
    const start = Date.now();
    await tablet.clock.install({ time: start });
    await tablet.clock.pauseAt(start + 1000);
    await tablet.goto(`${base}/console/login`);
    await scanBadge(tablet, '4711');
    await tablet.keyboard.type('2468');
    await tablet.keyboard.press('Enter');
    await tablet.waitForURL(/\/console\/work$/);
    await tablet.clock.fastForward(IDLE_S * 1000 - 5000);
    expect(tablet.url()).toMatch(/\/console\/work$/);
    await tablet.clock.fastForward(6000);
    await tablet.waitForURL(/\/console\/login\?idle=[\w-]{22}$/);
    await seen(tablet.getByText('Signed out after 30 seconds without use.'));
    // Back to My work: the session is gone on the server too.
    await tablet.goto(`${base}/console/work`);
    expect(tablet.url()).toMatch(/\/console\/login$/);
  });

  it('Done on My work signs the worker out for the next one', async () => {
    const planner = await tokenOf('pia');
    const wo = (await api('POST', '/workorders', planner, {
      product_code: 'P-7',
      lot_no: `L-7-${Date.now()}`,
      qty: 5,
      planned_start: new Date().toISOString(),
      planned_end: new Date(Date.now() + 3_600_000).toISOString(),
      stages: [{ stage_name: 'cutting' }],
    })) as unknown as { stages: Array<{ id: number }> };
    const stageId = wo.stages[0]?.id ?? 0;
    await api('POST', `/stages/${stageId}/assignments`, planner, { user_id: ids.ana });
    await api('POST', `/stages/${stageId}/start`, await tokenOf('ana'), {});

    const tablet = await stationTab();
    await tablet.goto(`${base}/console/login`);
    await scanBadge(tablet, '4711');
    await tablet.keyboard.type('2468');
    await tablet.keyboard.press('Enter');
    await tablet.waitForURL(/\/console\/work$/);
    await tablet.goto(`${base}/console/work/${stageId}/done`);
    await tablet.getByLabel('Good quantity').fill('5');
    await tablet.getByRole('button', { name: /finish cutting/ }).click();
    await tablet.waitForURL(/\/console\/login$/);
    await seen(tablet.getByText('You are signed out', { exact: false }));
    expect(await focused(tablet)).toBe('badge');
  });

  it('a PIN does not work in a browser that is not a station', async () => {
    const laptop = await newPage();
    await laptop.goto(`${base}/console/login`);
    expect(await laptop.locator('#badge').count()).toBe(0);
    const res = await laptop.request.post(`${base}/console/login`, { form: { badge: '4711', pin: '2468' } });
    expect(res.status()).toBe(403);
    await laptop.goto(`${base}/console/work`);
    expect(laptop.url()).toMatch(/\/console\/login$/);
  });

  it('with JavaScript off, deactivating asks first and the user then reads "Inactive"; revoking the station ends badge sign-in there', async () => {
    const admin = await newPage({ javaScriptEnabled: false });
    await signInWithPassword(admin, 'admin');
    await admin.goto(`${base}/console/users`);
    const ben = admin.locator(`section[data-user="${ids.ben}"]`);
    expect((await ben.locator('.status').textContent())?.trim()).toBe('Active');
    await ben.getByRole('link', { name: 'Deactivate…' }).click();
    await seen(admin.getByText('Deactivate ben? They are signed out at once', { exact: false }));
    await admin.getByRole('button', { name: 'Yes, deactivate ben' }).click();
    await admin.waitForURL(/\/console\/users$/);
    expect((await admin.locator(`section[data-user="${ids.ben}"] .status`).textContent())?.trim()).toBe('Inactive');
    await seen(admin.locator(`section[data-user="${ids.ben}"]`).getByRole('button', { name: 'Activate' }));

    await admin.getByRole('button', { name: 'Revoke Saw 1' }).click();
    await seen(admin.getByText('Station revoked', { exact: false }));
    await station.goto(`${base}/console/login`);
    expect(await station.locator('#badge').count()).toBe(0);
    const res = await station.request.post(`${base}/console/login`, { form: { badge: '4711', pin: '2468' } });
    expect(res.status()).toBe(403);
  });
});
