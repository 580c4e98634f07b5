import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RunningGateway } from '../src/main.ts';
import { listeningGateway } from './helpers/app.ts';
import {
  detailError,
  expectShape,
  legacyCreatedWorkOrder,
  legacyIssue,
  legacyLogin,
  legacyStage,
  legacyUser,
  legacyWorkOrder,
  validationError,
} from './helpers/legacy-shapes.ts';
import { chunkedPost, loginOverHttp } from './helpers/server.ts';

// The old app, unchanged, against LEGACY_API_PORT over a real socket. Planning and assignment
// happen where they happen now: a planner on the v1 port.
const ADMIN_PASSWORD = 'admin-password-for-legacy-tests';
let gw: RunningGateway;
let dir: string;
let v1: string;
let legacy: string;
let adminToken: string;

async function call(base: string, method: string, url: string, opts: { token?: string; json?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

/** The OAuth2 password form FastAPI's OAuth2PasswordRequestForm took; checks the old login body. */
async function formLogin(username: string, password: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'password', username, password, scope: '' });
  const res = await fetch(`${legacy}/auth/login`, { method: 'POST', body: form });
  expect(res.status).toBe(200);
  return expectShape(legacyLogin, await res.json()).access_token;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-legacy-'));
  ({ gw, base: v1 } = await listeningGateway(dir, { LEGACY_API_PORT: '0', PLANT_TZ: 'Europe/Berlin', ADMIN_PASSWORD }));
  legacy = `http://127.0.0.1:${gw.legacyPort}`;
  adminToken = await loginOverHttp(v1, 'admin', ADMIN_PASSWORD);
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the old mobile app against the legacy listener', () => {
  it('completes its whole flow with the old bodies', async () => {
    // Register and log in with an OAuth2 password form, as FastAPI's OAuth2PasswordRequestForm took it.
    const reg = await call(legacy, 'POST', '/auth/register', { json: { username: 'ana', password: 'ana-password-1' } });
    expect(reg.status).toBe(201);
    const ana = expectShape(legacyUser, reg.body);
    expect(ana).toMatchObject({ username: 'ana', role: 'worker' });
    const token = await formLogin('ana', 'ana-password-1');
    const jsonLogin = await call(legacy, 'POST', '/auth/login/', { json: { username: 'ana', password: 'ana-password-1' } });
    expect(expectShape(legacyLogin, jsonLogin.body).user.id).toBe(ana.id);

    // A planner plans on v1 (naive times are plant time there too) and assigns the first stage.
    const planner = await call(v1, 'POST', '/auth/register', { token: adminToken, json: { username: 'pia', password: 'pia-password-1', role: 'planner' } });
    expect(planner.status).toBe(201);
    const plannerToken = await loginOverHttp(v1, 'pia', 'pia-password-1');
    const created = await call(legacy, 'POST', '/workorders/', {
      token: plannerToken,
      json: { product_code: 'P-7', lot_no: 'L-7', qty: 12, planned_start: '2026-11-26T09:00:00', planned_end: '2026-11-26T17:00:00' },
    });
    expect(created.status).toBe(201);
    const wo = expectShape(legacyCreatedWorkOrder, created.body);
    expect(wo.planned_start).toBe('2026-11-26T09:00:00');
    const firstStage = wo.stages[0];
    if (!firstStage) throw new Error('the work order has no stages');
    const assign = await fetch(`${v1}/stages/${firstStage.id}/assignments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plannerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: ana.id }),
    });
    expect(assign.status).toBe(201);

    const list = await call(legacy, 'GET', '/workorders/', { token });
    expect(list.status).toBe(200);
    const orders = expectShape(z.array(legacyWorkOrder), list.body);
    expect(orders.map((o) => o.id)).toContain(wo.id);

    const one = await call(legacy, 'GET', `/workorders/${wo.id}`, { token });
    expect(expectShape(legacyWorkOrder, one.body)).toMatchObject({ id: wo.id, product_code: 'P-7', qty: 12, planned_end: '2026-11-26T17:00:00' });

    const stages = await call(legacy, 'GET', `/workorders/${wo.id}/stages/`, { token });
    expect(expectShape(z.array(legacyStage), stages.body).map((s) => s.id)).toEqual([firstStage.id]);

    // Many HTTP clients send Content-Type: application/json with an empty body; FastAPI ignored it.
    const started = await fetch(`${legacy}/stages/${firstStage.id}/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '',
    });
    expect(started.status).toBe(200);
    expect(expectShape(legacyStage, await started.json())).toMatchObject({ status: 'in_progress', actual_end: null });
    const done = await call(legacy, 'POST', `/stages/${firstStage.id}/done`, { token, json: {} });
    const finished = expectShape(legacyStage, done.body);
    expect(finished.status).toBe('done');
    expect(finished.actual_end).not.toBeNull();

    const issue = await call(legacy, 'POST', `/stages/${firstStage.id}/issue`, { token, json: { type: 'tooling', description: 'worn cutter' } });
    expect(issue.status).toBe(201);
    expect(expectShape(legacyIssue, issue.body)).toMatchObject({ work_order_stage_id: firstStage.id, created_by: ana.id, description: 'worn cutter' });

    const missing = await call(legacy, 'GET', '/workorders/1099511699999', { token });
    expect(missing.status).toBe(404);
    expectShape(detailError, missing.body);

    const bad = await call(legacy, 'POST', '/workorders', {
      token: plannerToken,
      json: { product_code: 'P-8', lot_no: 'L-8', qty: 0, planned_start: '2026-11-26T09:00:00', planned_end: '2026-11-26T17:00:00' },
    });
    expect(bad.status).toBe(422);
    const { detail } = expectShape(validationError, bad.body);
    expect(detail).toEqual([expect.objectContaining({ loc: ['body', 'qty'] })]);
  });

  it('answers 401 as FastAPI did: a detail and WWW-Authenticate: Bearer', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const res = await call(legacy, 'GET', '/workorders/', { ...(token ? { token } : {}) });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expectShape(detailError, res.body);
    }
    const wrong = await call(legacy, 'POST', '/auth/login', { json: { username: 'admin', password: 'wrong-password' } });
    expect(wrong.status).toBe(401);
    expectShape(detailError, wrong.body);
  });

  it('refuses by role with 403 and a detail, changing nothing', async () => {
    await call(legacy, 'POST', '/auth/register', { json: { username: 'wes', password: 'wes-password-1' } });
    const worker = await formLogin('wes', 'wes-password-1');
    const before = await call(legacy, 'GET', '/workorders', { token: worker });
    const refusals = [
      await call(legacy, 'POST', '/workorders/', {
        token: worker,
        json: { product_code: 'X', lot_no: 'X', qty: 1, planned_start: '2026-11-26T09:00', planned_end: '2026-11-26T10:00' },
      }),
      await call(legacy, 'GET', '/auth/users', { token: worker }),
      await call(legacy, 'GET', '/issues/', { token: worker }),
      await call(legacy, 'PATCH', '/auth/users/1099511627777/role', { token: worker, json: { role: 'admin' } }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(403);
      expectShape(detailError, res.body);
    }
    expect((await call(legacy, 'GET', '/workorders', { token: worker })).body).toEqual(before.body);
  });

  it('serves the planned endpoints bare: users, role change, issues, issue update, metrics', async () => {
    const users = await call(legacy, 'GET', '/auth/users/', { token: adminToken });
    const all = expectShape(z.array(legacyUser), users.body);
    const ana = all.find((u) => u.username === 'ana');
    if (!ana) throw new Error('ana is missing from /auth/users');
    const promoted = await call(legacy, 'PATCH', `/auth/users/${ana.id}/role`, { token: adminToken, json: { role: 'manager' } });
    expect(expectShape(legacyUser, promoted.body).role).toBe('manager');

    const issues = expectShape(z.array(legacyIssue), (await call(legacy, 'GET', '/issues', { token: adminToken })).body);
    const issue = issues[0];
    if (!issue) throw new Error('no issue to update');
    const ack = await call(legacy, 'PATCH', `/stages/${issue.work_order_stage_id}/issues/${issue.id}/`, { token: adminToken, json: { status: 'ack' } });
    expect(expectShape(legacyIssue, ack.body)).toMatchObject({ id: issue.id, status: 'ack' });

    const stageMetrics = await call(legacy, 'GET', `/stages/${issue.work_order_stage_id}/metrics`, { token: adminToken });
    expect(stageMetrics.body).toMatchObject({ stage_id: issue.work_order_stage_id, on_time: expect.any(Boolean) });
    const orders = expectShape(z.array(legacyWorkOrder), (await call(legacy, 'GET', '/workorders', { token: adminToken })).body);
    const woMetrics = await call(legacy, 'GET', `/workorders/${orders[0]?.id}/metrics`, { token: adminToken });
    expect(woMetrics.body).toMatchObject({ stages_done: 1, open_issues: 1 });
    expect(woMetrics.body).not.toHaveProperty('data');
  });

  it("keeps v1's limits: the body limit and the login throttle, answered with a detail", async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const big = await chunkedPost(
      gw.legacyPort ?? 0,
      '/auth/register',
      { 'content-type': 'application/json' },
      Array.from({ length: 20 }, () => chunk),
    );
    expect(big.status).toBe(413);
    expectShape(detailError, JSON.parse(big.body));
    expect(big.headers.connection).toBe('close');
    const attempts = [];
    for (let i = 0; i < 6; i++) attempts.push(await call(legacy, 'POST', '/auth/login', { json: { username: 'ghost', password: `guess-${i}` } }));
    expect(attempts.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429]);
    const limited = attempts[5];
    expectShape(detailError, limited?.body);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers unknown routes 404 and wrong methods 405, both with a detail', async () => {
    const none = await call(legacy, 'GET', '/machines', { token: adminToken });
    expect(none).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    const wrong = await call(legacy, 'DELETE', '/workorders/', { token: adminToken });
    expect(wrong).toMatchObject({ status: 405, body: { detail: 'Method Not Allowed' } });
    expect(wrong.headers.get('allow')).toBe('POST, GET');
  });

  it('takes the OAuth2 password form as multipart too, as FastAPI did, on both ports', async () => {
    const user = await (
      await fetch(`${v1}/auth/register`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'mia', password: 'mia-password-1' }),
      })
    ).json();
    expect(user).toMatchObject({ data: { username: 'mia' } });
    for (const base of [legacy, v1]) {
      const form = new FormData();
      form.set('grant_type', 'password');
      form.set('username', 'mia');
      form.set('password', 'mia-password-1');
      const res = await fetch(`${base}/auth/login`, { method: 'POST', body: form });
      expect(res.status, base).toBe(200);
      // The legacy answer is bare, v1's in the envelope; either way a token.
      expect(JSON.stringify(await res.json()), base).toMatch(/"access_token":"[^"]+"/);
      const missing = new FormData();
      missing.set('username', 'mia');
      const refused = await fetch(`${base}/auth/login`, { method: 'POST', body: missing });
      expect(refused.status, base).toBe(422);
    }
  });

  it('answers HEAD on a read like its GET, without a body', async () => {
    for (const url of ['/workorders/', '/auth/users']) {
      const get = await fetch(`${legacy}${url}`, { headers: { authorization: `Bearer ${adminToken}` } });
      const head = await fetch(`${legacy}${url}`, { method: 'HEAD', headers: { authorization: `Bearer ${adminToken}` } });
      expect(head.status, url).toBe(get.status);
      expect(head.status, url).toBe(200);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect(await head.text()).toBe('');
    }
  });
});
