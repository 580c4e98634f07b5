import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unavailable } from '../src/errors.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { createWorkOrder } from './helpers/floor.ts';

let gw: TestGateway;
let planner: { token: string; id: number };
beforeEach(async () => {
  gw = makeGateway();
  planner = await gw.login('planner');
});
afterEach(() => gw.close());

const keys = () => gw.ctx.store.sqlite.prepare('SELECT user_id, key, status, body FROM idempotency_keys').all() as Array<Record<string, unknown>>;
const events = (kind: string) => (gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM events WHERE kind = ?').get(kind) as { n: number }).n;

async function newStage(): Promise<number> {
  const wo = await createWorkOrder(gw, planner.token);
  return wo.stages[0]?.id ?? 0;
}

const start = (stage: number, key: string, headers: Record<string, string> = {}) =>
  gw.req('POST', `/stages/${stage}/start`, { token: planner.token, body: { at: '2026-11-26T08:00:00Z' }, headers: { 'idempotency-key': key, ...headers } });

describe('Idempotency-Key', () => {
  it('stores no credential or token: login, registration and password changes never take part', async () => {
    const user = await gw.login('worker');
    const login = await gw.req('POST', '/auth/login', {
      body: { username: user.username, password: user.password },
      headers: { 'idempotency-key': 'login-1' },
    });
    expect(login.status).toBe(200);
    const token = (await body<{ access_token: string }>(login)).data.access_token;
    const again = await gw.req('POST', '/auth/login', {
      body: { username: user.username, password: user.password },
      headers: { 'idempotency-key': 'login-1' },
    });
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect((await body<{ access_token: string }>(again)).data.access_token).not.toBe(token);
    const reg = await gw.req('POST', '/auth/register', { body: { username: 'newbie', password: 'long-enough-1' }, headers: { 'idempotency-key': 'anon' } });
    expect(reg.status).toBe(201);
    const pw = await gw.req('POST', '/auth/password', {
      token,
      body: { current_password: user.password, new_password: 'another-long-one' },
      headers: { 'idempotency-key': 'pw-1' },
    });
    expect(pw.status).toBe(204);
    expect(keys()).toEqual([]);
    const dump = JSON.stringify(gw.ctx.store.sqlite.prepare('SELECT * FROM idempotency_keys').all());
    expect(dump).not.toContain(token);
  });

  it('replays under the new request id, marked Idempotent-Replayed', async () => {
    const stage = await newStage();
    const first = await start(stage, 'k-1', { 'x-request-id': 'first-try' });
    const second = await start(stage, 'k-1', { 'x-request-id': 'second-try' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('x-request-id')).toBe('second-try');
    const a = await body(first);
    const b = await body(second);
    expect(b.meta.request_id).toBe('second-try');
    expect(b.data).toEqual(a.data);
    expect(events('stage.started')).toBe(1);
  });

  it('is free again after a failure between the change and its commit, and the retry applies once', async () => {
    const stage = await newStage();
    // Injected crash: the transaction dies after the stage moved, before anything commits.
    gw.ctx.store.sqlite.exec("CREATE TEMP TRIGGER crash BEFORE INSERT ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'power cut'); END");
    const cut = await start(stage, 'retry-me');
    expect(cut.status).toBe(500);
    expect(events('stage.started')).toBe(0);
    expect(keys()).toEqual([]);
    gw.ctx.store.sqlite.exec('DROP TRIGGER temp.crash');
    const retry = await start(stage, 'retry-me');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect((await start(stage, 'retry-me')).headers.get('idempotent-replayed')).toBe('true');
    expect(events('stage.started')).toBe(1);
  });

  it('answers a late retry of a refused request with the same refusal, even once the state has moved on', async () => {
    const stage = await newStage();
    const done = (key: string) => gw.req('POST', `/stages/${stage}/done`, { token: planner.token, body: { qty_good: 5 }, headers: { 'idempotency-key': key } });
    const refused = await done('done-1');
    expect(refused.status).toBe(409);
    const first = await body(refused);
    expect(first.error.code).toBe('INVALID_TRANSITION');
    expect((await start(stage, 'start-1')).status).toBe(200);
    // The queued retry of the refused press must not finish the stage now that it could.
    const retry = await done('done-1');
    expect(retry.status).toBe(409);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await body(retry)).error).toEqual(first.error);
    expect(events('stage.done')).toBe(0);
    // A new press (a new key) is a new request.
    expect((await done('done-2')).status).toBe(200);
    expect(events('stage.done')).toBe(1);
  });

  it('does not store an answer a retry may pass: storage unavailable runs again', async () => {
    const stage = await newStage();
    // The first command finds storage unavailable; the store works again for everything after it
    // (so a stored 503, were it stored, would be found).
    const real = gw.ctx.store.command;
    let failNext = true;
    gw.ctx.store.command = ((fn) => {
      if (!failNext) return real(fn);
      failNext = false;
      return Promise.reject(unavailable());
    }) as typeof real;
    const busy = await start(stage, 'runs-again');
    expect(busy.status).toBe(503);
    expect(keys()).toEqual([]);
    const retry = await start(stage, 'runs-again');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(events('stage.started')).toBe(1);
  });

  it('treats a key an older build left in flight by a crash as free, never 409 for 48 h', async () => {
    const stage = await newStage();
    gw.ctx.store.sqlite
      .prepare("INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES (?, 'stuck', 'x', 0, '', ?)")
      .run(planner.id, gw.clock.now());
    const retry = await start(stage, 'stuck');
    expect(retry.status).toBe(200);
    expect(events('stage.started')).toBe(1);
    expect(keys()).toMatchObject([{ key: 'stuck', status: 200 }]);
  });

  it('applies once when two requests with one key arrive together; the other replays', async () => {
    const stage = await newStage();
    const [a, b] = await Promise.all([start(stage, 'twin'), start(stage, 'twin')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')]).toEqual([null, 'true']);
    expect(events('stage.started')).toBe(1);
  });

  it('scopes keys per user', async () => {
    const other = await gw.login('planner');
    const first = await createWorkOrder(gw, planner.token);
    const res = await gw.req('POST', '/workorders', {
      token: other.token,
      headers: { 'idempotency-key': 'same' },
      body: { product_code: 'P-2', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' },
    });
    await gw.req('POST', '/workorders', {
      token: planner.token,
      headers: { 'idempotency-key': 'same' },
      body: { product_code: 'P-3', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' },
    });
    expect(res.status).toBe(201);
    expect(first.id).toBeGreaterThan(0);
    expect(rowCount(gw.ctx, 'work_orders')).toBe(3);
  });
});
