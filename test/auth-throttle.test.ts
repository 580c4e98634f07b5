import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { type RunningGateway, startGateway } from '../src/main.ts';
import type { PasswordHasher } from '../src/context.ts';
import { createPasswordHasher } from '../src/modules/auth/password.ts';
import { TEST_SCRYPT, testConfig } from './helpers/app.ts';
import { until } from './helpers/server.ts';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

/** A listening gateway with this gateway.yaml and these extra keys. */
async function gatewayWith(yaml: string, env: Record<string, string> = {}, passwords?: PasswordHasher): Promise<{ gw: RunningGateway; base: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-throttle-'));
  mkdirSync(path.join(dir, 'config'));
  writeFileSync(path.join(dir, 'config', 'gateway.yaml'), yaml);
  const config = testConfig(dir, { PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD, ...env });
  const gw = await startGateway(config, silentLogger(), {
    passwords: passwords ?? createPasswordHasher(TEST_SCRYPT),
    processMetrics: false,
    print: () => {},
  });
  opened.push(async () => {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { gw, base: `http://127.0.0.1:${gw.port}` };
}

function post(base: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** How many responses had each status. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** A real hasher whose verifications wait until the test opens the gate (so requests truly overlap). */
function heldHasher() {
  const real = createPasswordHasher(TEST_SCRYPT);
  let entered = 0;
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const hasher: PasswordHasher = {
    hash: (password) => real.hash(password),
    verify: async (password, stored) => {
      entered++;
      await gate;
      return real.verify(password, stored);
    },
    verifyDummy: async (password) => {
      entered++;
      await gate;
      return real.verifyDummy(password);
    },
  };
  return { hasher, entered: () => entered, open: () => open() };
}

describe('the login throttle', () => {
  it('counts an attempt before its hash: 40 at once for one user are 5 × 401 and 35 × 429, the right password included', async () => {
    const held = heldHasher();
    const { base } = await gatewayWith('', {}, held.hasher);
    const answered: number[] = [];
    const wrong = Array.from({ length: 39 }, () =>
      post(base, '/auth/login', { username: 'admin', password: 'wrong-password' }).then((r) => {
        answered.push(r.status);
        return r.status;
      }),
    );
    // Every request is either refused or waiting for its hash; only then comes the right password.
    await until(() => held.entered() + answered.length === 39);
    let rightStatus = 0;
    const right = post(base, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD }).then((r) => {
      rightStatus = r.status;
    });
    await until(() => rightStatus !== 0 || held.entered() + answered.length === 40);
    held.open();
    await right;
    expect(tally(await Promise.all(wrong))).toEqual({ 401: 5, 429: 34 });
    expect(rightStatus).toBe(429);
  });

  it('counts per address the same way: 40 at once under different names are 10 × 401 and 30 × 429', async () => {
    const held = heldHasher();
    const { base } = await gatewayWith('auth:\n  login_max_failures_per_ip: 10\n', {}, held.hasher);
    const answered: number[] = [];
    const all = Array.from({ length: 40 }, (_, i) =>
      post(base, '/auth/login', { username: `name${i}`, password: 'wrong-password' }).then((r) => {
        answered.push(r.status);
        return r.status;
      }),
    );
    await until(() => held.entered() + answered.length === 40);
    held.open();
    expect(tally(await Promise.all(all))).toEqual({ 401: 10, 429: 30 });
  });
});

describe('public registration', () => {
  it('is throttled per address and window, counted before the hash; an admin is not throttled', async () => {
    const { base } = await gatewayWith('auth:\n  register_max_per_ip: 3\n');
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post(base, '/auth/register', { username: `new${i}`, password: 'long-enough-pw' }).then((r) => r.status)),
    );
    expect(tally(statuses)).toEqual({ 201: 3, 429: 7 });
    const refused = await post(base, '/auth/register', { username: 'late', password: 'long-enough-pw' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    const login = await post(base, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    const token = ((await login.json()) as { data: { access_token: string } }).data.access_token;
    const byAdmin = await post(base, '/auth/register', { username: 'late', password: 'long-enough-pw' }, { authorization: `Bearer ${token}` });
    expect(byAdmin.status).toBe(201);
  });

  it('does not hold up a login: with many registrations queued for the hasher, the login is answered before most of them', async () => {
    // One hash at a time and a cost high enough that the registrations queue behind each other.
    const { base } = await gatewayWith(
      'auth:\n  register_max_per_ip: 100\n  max_concurrent_hashes: 1\n',
      {},
      createPasswordHasher({ N: 2 ** 13, r: 8, p: 1 }, 1),
    );
    const order: string[] = [];
    const registrations = Array.from({ length: 20 }, (_, i) =>
      post(base, '/auth/register', { username: `crowd${i}`, password: 'long-enough-pw' }).then((r) => {
        order.push(`register ${r.status}`);
      }),
    );
    // The first registration is through: the others are queued for the hasher.
    await until(() => order.length > 0);
    const login = await post(base, '/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    order.push(`login ${login.status}`);
    await Promise.all(registrations);
    const after = order.slice(order.indexOf('login 200') + 1);
    expect(order).toContain('login 200');
    expect(after.length).toBeGreaterThanOrEqual(10);
    expect(after.every((entry) => entry === 'register 201')).toBe(true);
  });
});

describe('the client address behind a proxy', () => {
  it('is taken from the right of X-Forwarded-For, so rotating forged values still draw the per-address 429', async () => {
    const { base } = await gatewayWith('auth:\n  login_max_failures_per_ip: 5\n  login_max_failures_per_user: 1000\n', { TRUST_PROXY: 'true' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      // The client forges the left part; the proxy (this test, on 127.0.0.1) appends what it saw.
      const res = await post(base, '/auth/login', { username: `nobody${i}`, password: 'wrong-password' }, { 'x-forwarded-for': `198.51.100.${i}, 10.9.8.7` });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Another client behind the same proxy is not punished for it.
    const other = await post(base, '/auth/login', { username: 'nobody', password: 'wrong-password' }, { 'x-forwarded-for': '10.9.8.8' });
    expect(other.status).toBe(401);
  });
});
