import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../sync/worker.ts';
import { listeningGateway } from '../helpers/app.ts';
import { HQ_START_TIMEOUT, type Hq, hqRows, startHq } from './fixture.ts';

let hq: Hq;
beforeAll(async () => {
  hq = await startHq();
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await hq?.close();
});

/** Polls until check() returns a value (an observable event), failing after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function token(base: string, password: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  return ((await res.json()) as { data: { access_token: string } }).data.access_token;
}

describe('sync worker in the running gateway', () => {
  it('shows an HQ INSERT of a work order in GET /workorders on its own, and reports online in /metrics', async () => {
    const url = await hq.addSite(41);
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-sync-worker-'));
    const { gw, base } = await listeningGateway(dir, { SITE_ID: '41', HQ_DATABASE_URL: url, SYNC_INTERVAL_MS: '300', ADMIN_PASSWORD: 'admin-password-1234' });
    try {
      const t = await token(base, 'admin-password-1234');
      await hqRows(hq, "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES (41, 'TIMER', 'L', 7, now(), now())");
      const found = await until(async () => {
        const res = await fetch(`${base}/workorders?product_code=TIMER`, { headers: { authorization: `Bearer ${t}` } });
        const list = ((await res.json()) as { data: Array<{ qty: number }> }).data;
        return list.length > 0 ? list : undefined;
      });
      expect(found).toMatchObject([{ qty: 7 }]);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/gateway_sync_online 1/);
      expect(metrics).toMatch(/gateway_sync_rows_total\{direction="pull"\} [1-9]/);
      // The admin created at first start reached HQ without anyone asking.
      await until(async () => ((await hqRows(hq, "SELECT 1 FROM users WHERE site_id = 41 AND username = 'admin'")).length > 0 ? true : undefined));
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('retries an unreachable HQ on its own with backoff and says so in the status', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-sync-worker-'));
    const { gw, base } = await listeningGateway(dir, {
      SITE_ID: '42',
      HQ_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      ADMIN_PASSWORD: 'admin-password-1234',
    });
    try {
      const errors = await until(async () => {
        const m = /gateway_sync_errors_total (\d+)/.exec(await (await fetch(`${base}/metrics`)).text());
        return m && Number(m[1]) >= 2 ? Number(m[1]) : undefined;
      });
      expect(errors).toBeGreaterThanOrEqual(2);
      const t = await token(base, 'admin-password-1234');
      const status = (await (await fetch(`${base}/sync/status`, { headers: { authorization: `Bearer ${t}` } })).json()) as { data: Record<string, unknown> };
      expect(status.data).toMatchObject({ enabled: true, online: false, last_error: expect.stringMatching(/ECONNREFUSED/) });
      expect(status.data.backlog).toBeGreaterThan(0);
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs off with full jitter from 1 s up to 5 min', () => {
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(3, () => 1)).toBe(8000);
    expect(backoffDelay(30, () => 1)).toBe(300_000);
    expect(backoffDelay(30, () => 0.5)).toBe(150_000);
  });
});
