import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OEE_REFRESH_MS } from '../../src/console/oee.tsx';
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/logger.ts';
import { type RunningGateway, startGateway } from '../../src/main.ts';
import { createPasswordHasher } from '../../src/modules/auth/password.ts';
import { createUser } from '../../src/modules/auth/service.ts';
import { TEST_SCRYPT, testConfig } from '../helpers/app.ts';
import { CHROMIUM, callApi, SIZES } from '../helpers/browser.ts';
import { loginOverHttp, until } from '../helpers/server.ts';

const haveChromium = existsSync(CHROMIUM);
const PASSWORD = 'oee-browser-password';
const Z = (hhmm: string) => Date.parse(`2026-11-26T${hhmm}:00Z`);

// A UTC plant, a Thursday's early shift 06:00–14:00 without breaks.
const SETTINGS = 'oee:\n  shifts: [{ name: early, days: [thu], start: "06:00", end: "14:00" }]\n';

// The server runs on a manual clock (the shift's figures are exact); the browser's timers are Playwright's fake clock.
describe.skipIf(!haveChromium && !process.env.CI)('console OEE tiles in a real browser', { timeout: 120_000 }, () => {
  let dir: string;
  let gw: RunningGateway;
  let base: string;
  let browser: Browser;
  let machineId = 0;
  const clock = manualClock(Z('06:00'));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gw-oee-browser-'));
    mkdirSync(path.join(dir, 'config'));
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), SETTINGS);
    gw = await startGateway(testConfig(dir, { PORT: '0', HOST: '127.0.0.1', PLANT_TZ: 'UTC' }), silentLogger(), {
      clock,
      passwords: createPasswordHasher(TEST_SCRYPT),
      processMetrics: false,
      print: () => {},
    });
    base = `http://127.0.0.1:${gw.port}`;
    await createUser(gw.ctx, { username: 'mona', password: PASSWORD, role: 'manager' });
    await createUser(gw.ctx, { username: 'ada', password: PASSWORD, role: 'admin' });
    const token = await loginOverHttp(base, 'ada', PASSWORD);
    machineId = (await callApi(base, 'POST', '/machines', token, { name: 'press-5', machine_type: 'press', status: 'running' }))?.id ?? 0;
    clock.set(Z('07:00'));
    await callApi(base, 'PATCH', `/machines/${machineId}`, token, { status: 'down' });
    clock.set(Z('07:30'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openBoard(): Promise<{ page: Page; background: Request[] }> {
    const context = await browser.newContext({ viewport: SIZES.tablet });
    const page = await context.newPage();
    await page.clock.install();
    await page.goto(`${base}/`);
    await page.getByLabel('Username').fill('mona');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('form[action="/console/logout"]');
    const background: Request[] = [];
    page.on('request', (r) => {
      if (r.url() === `${base}/console/board`) background.push(r);
    });
    await page.goto(`${base}/console/board`);
    return { page, background };
  }

  const availability = (page: Page) => page.locator(`[data-oee-machine="${machineId}"] dd[data-figure="Availability"]`).textContent();

  it('the running shift tile moves on by itself during a long stop (no shop-floor events), as a background read', async () => {
    const { page, background } = await openBoard();
    // 06:00–07:30: ran 60 of 90 minutes.
    expect(await availability(page)).toBe('66.7 %');
    // Half an hour of standing still: nothing happens on the floor, so no event refreshes the page.
    clock.set(Z('08:00'));
    background.length = 0;
    await page.clock.fastForward(OEE_REFRESH_MS);
    // By hand: ran 60 of 120 minutes.
    await until(async () => (await availability(page)) === '50.0 %');
    expect(await page.locator(`[data-oee-machine="${machineId}"]`).textContent()).toContain('06:00 UTC to 08:00 UTC');
    // The re-read is the page's own, marked so a station session does not count it as someone's activity.
    expect(background.length).toBeGreaterThan(0);
    expect(background.every((r) => r.headers()['x-gw-background'] === '1')).toBe(true);
    await page.context().close();
  });
});
