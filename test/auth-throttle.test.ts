import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.ts';
import { type RunningGateway, startGateway } from '../src/main.ts';
import { createPasswordHasher, type PasswordHasher } from '../src/modules/auth/password.ts';
import { TEST_SCRYPT, testConfig } from './helpers/app.ts';

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
