import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/http/app.ts';
import { command } from '../src/http/command.ts';
import { defineRoute, raw } from '../src/http/route.ts';
import { createGuard } from '../src/modules/auth/guard.ts';
import { checkContract } from './helpers/contract.ts';
import { makeGateway, type TestGateway } from './helpers/app.ts';
import { params, thing } from './types/define-route.ts';

let gw: TestGateway | undefined;
afterEach(() => gw?.close());

/** A router of its own on a test gateway's context, with the routes a test defines. */
function testRouter() {
  gw = makeGateway();
  const router = createHttpApp(gw.ctx, createGuard(gw.ctx));
  const call = (method: string, url: string, headers: Record<string, string> = {}) =>
    Promise.resolve(router.app.request(url, { method, headers })).then((res) => checkContract(router.routes, method, url, res));
  return { router, ctx: gw.ctx, call, gw };
}

describe('defineRoute wraps what a handler returns', () => {
  it('puts data into the envelope with the spec status, a page with its cursor, nothing for 204, and a raw answer as is', async () => {
    const { router, call } = testRouter();
    const base = { tag: 't', summary: 's', access: 'public' } as const;
    defineRoute(router, { ...base, method: 'get', path: '/things/{thing_id}', params, response: thing }, (_c, { params: p }) => ({
      id: Number(p.thing_id),
      name: 'press',
      seen_at: null,
    }));
    defineRoute(router, { ...base, method: 'get', path: '/things', response: thing, list: true }, () => ({
      items: [{ id: 1, name: 'press', seen_at: '2026-11-26T08:00:00.000Z' }],
      nextCursor: 'next',
    }));
    defineRoute(router, { ...base, method: 'delete', path: '/things/{thing_id}', params, status: 204 }, () => undefined);
    defineRoute(router, { ...base, method: 'get', path: '/things.txt' }, (c) => raw(c.text('plain words')));

    const one = await call('GET', '/things/7');
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ data: { id: 7, name: 'press', seen_at: null }, meta: { request_id: expect.any(String) } });
    const page = (await (await call('GET', '/things')).json()) as { data: unknown[]; meta: { next_cursor: string | null } };
    expect(page.data).toHaveLength(1);
    expect(page.meta.next_cursor).toBe('next');
    const gone = await call('DELETE', '/things/7');
    expect(gone.status).toBe(204);
    expect(await gone.text()).toBe('');
    const text = await call('GET', '/things.txt');
    expect(text.headers.get('content-type')).toContain('text/plain');
    expect(await text.text()).toBe('plain words');
  });

  it('runs a command on the command path: its answer is stored under an Idempotency-Key and replayed', async () => {
    const { router, ctx, call, gw: g } = testRouter();
    let runs = 0;
    defineRoute(router, { method: 'post', path: '/things', tag: 't', summary: 's', access: ['admin'], response: thing, status: 201 }, () =>
      command(ctx, () => ({ id: ++runs, name: 'press', seen_at: null })),
    );
    const admin = await g.login('admin');
    const headers = { authorization: `Bearer ${admin.token}`, 'idempotency-key': 'key-1' };
    const first = await call('POST', '/things', headers);
    const again = await call('POST', '/things', headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { data: unknown }).data).toEqual(((await first.json()) as { data: unknown }).data);
    expect(runs).toBe(1);
  });
});
