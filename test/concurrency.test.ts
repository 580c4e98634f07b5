import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/main.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { listeningGateway } from './helpers/app.ts';
import { loginOverHttp } from './helpers/server.ts';

let gw: RunningGateway;
let dir: string;
let base: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-conc-'));
  ({ gw, base } = await listeningGateway(dir));
  await createUser(gw.ctx, { username: 'lead', password: 'lead-password', role: 'planner' });
  token = await loginOverHttp(base, 'lead', 'lead-password');
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });

async function newStage(): Promise<number> {
  const res = await post('/workorders', { product_code: 'C', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' });
  return ((await res.json()) as { data: { stages: Array<{ id: number }> } }).data.stages[0]?.id ?? 0;
}

describe('many terminals at once (real sockets)', () => {
  it('25 simultaneous starts of one stage give exactly one success', async () => {
    const id = await newStage();
    const results = await Promise.all(Array.from({ length: 25 }, () => post(`/stages/${id}/start`, {}).then((r) => r.status)));
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 409)).toHaveLength(24);
    const started = gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE kind = 'stage.started' AND entity_id = ?").get(id) as { n: number };
    expect(started.n).toBe(1);
  });

  it('an Idempotency-Key retry after a lost response replays the original answer without applying twice', async () => {
    const id = await newStage();
    const first = await post(`/stages/${id}/issue`, { type: 'tooling', description: 'dull bit' }, { 'idempotency-key': 'tablet-3-0001' });
    expect(first.status).toBe(201);
    const original = (await first.json()) as { data: { id: number } };
    // The terminal never saw that answer and sends the same request again, several times at once.
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => post(`/stages/${id}/issue`, { type: 'tooling', description: 'dull bit' }, { 'idempotency-key': 'tablet-3-0001' })),
    );
    for (const r of retries) {
      expect(r.status).toBe(201);
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(((await r.json()) as { data: { id: number } }).data.id).toBe(original.data.id);
    }
    const n = gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM issues WHERE work_order_stage_id = ?').get(id) as { n: number };
    expect(n.n).toBe(1);
  });

  it('replays a state change too, and refuses a reused key with another body', async () => {
    const id = await newStage();
    const a = await post(`/stages/${id}/start`, { at: '2026-01-05T08:00:00Z' }, { 'idempotency-key': 'start-1' });
    const b = await post(`/stages/${id}/start`, { at: '2026-01-05T08:00:00Z' }, { 'idempotency-key': 'start-1' });
    expect([a.status, b.status]).toEqual([200, 200]);
    // The same answer, marked as a replay, under this request's own id (issue 8, item 11).
    const first = (await a.json()) as { data: unknown; meta: { request_id: string } };
    const again = (await b.json()) as { data: unknown; meta: { request_id: string } };
    expect(again.data).toEqual(first.data);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(again.meta.request_id).toBe(b.headers.get('x-request-id'));
    expect(again.meta.request_id).not.toBe(first.meta.request_id);
    const c = await post(`/stages/${id}/start`, { at: '2026-01-05T08:05:00Z' }, { 'idempotency-key': 'start-1' });
    expect(c.status).toBe(422);
    const d = await post(`/stages/${id}/start`, {}, { 'idempotency-key': 'start-2' });
    expect(d.status).toBe(409);
    // A failed request does not burn its key: the same key can be used once the cause is fixed.
    const e = await post(`/stages/${id}/pause`, {}, { 'idempotency-key': 'pause-1' });
    expect(e.status).toBe(422);
    const f = await post(`/stages/${id}/pause`, {}, { 'idempotency-key': 'pause-1' });
    expect(f.status).toBe(422);
    expect((await post('/stages/1/pause', {}, { 'idempotency-key': 'x'.repeat(300) })).status).toBe(422);
  });

  it('keeps keys at least 24 hours and prunes them after the retention', async () => {
    const { runHousekeeping } = await import('../src/modules/ops/housekeeping.ts');
    const count = () => (gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM idempotency_keys').get() as { n: number }).n;
    const before = count();
    expect(before).toBeGreaterThan(0);
    runHousekeeping(gw.ctx);
    expect(count()).toBe(before);
    gw.ctx.store.sqlite.prepare('UPDATE idempotency_keys SET created_at = created_at - ?').run(49 * 3600_000);
    runHousekeeping(gw.ctx);
    expect(count()).toBe(0);
  });
});
