import { z } from '@hono/zod-openapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { checkContract } from './helpers/contract.ts';

let gw: TestGateway;
beforeEach(() => {
  gw = makeGateway();
});
afterEach(() => gw.close());

describe('the published contract', () => {
  it('gives every operation an operationId, its success schema and the error responses it can answer', async () => {
    const doc = (await (await gw.req('GET', '/openapi.json')).json()) as {
      paths: Record<string, Record<string, { operationId?: string; responses: Record<string, { content?: unknown }> }>>;
    };
    const ids: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        ids.push(op.operationId ?? '');
        for (const status of ['500', '503']) expect(op.responses[status]?.content, `${method} ${path} ${status}`).toBeTruthy();
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('getWorkordersByWoId');
    // Built once at start-up: the same bytes every time.
    expect(await (await gw.req('GET', '/openapi.json')).text()).toBe(JSON.stringify(doc));
  });

  it('fails a test whose response drifts from its schema', async () => {
    const route = {
      method: 'get' as const,
      path: '/x/{id}',
      access: 'any' as const,
      operationId: 'getX',
      status: 200,
      schema: z.object({ data: z.object({ value: z.number() }) }),
      errors: ['NOT_FOUND', 'INTERNAL_ERROR'] as const,
    };
    const drifted = new Response(JSON.stringify({ data: { value: null } }), { headers: { 'content-type': 'application/json' } });
    await expect(checkContract([route], 'GET', '/x/1', drifted)).rejects.toThrow(/does not match its schema/);
    const fine = new Response(JSON.stringify({ data: { value: 1 } }), { headers: { 'content-type': 'application/json' } });
    await expect(checkContract([route], 'GET', '/x/1', fine)).resolves.toBe(fine);
    const error = (code: string, status: number) =>
      new Response(JSON.stringify({ error: { code, message: 'm' }, meta: { request_id: 'r', timestamp: 't' } }), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    await expect(checkContract([route], 'GET', '/x/1', error('CONFLICT', 409))).rejects.toThrow(/answered CONFLICT, which its OpenAPI does not list/);
    const listed = error('NOT_FOUND', 404);
    await expect(checkContract([route], 'GET', '/x/1', listed)).resolves.toBe(listed);
  });

  it('fails a response carrying a field its schema does not declare, however deep', async () => {
    const item = z.object({
      id: z.number(),
      owner: z.object({ name: z.string() }).nullable(),
      tags: z.array(z.union([z.string(), z.object({ k: z.string() })])),
    });
    const route = {
      method: 'get' as const,
      path: '/things',
      access: 'any' as const,
      operationId: 'getThings',
      status: 200,
      errors: [],
      schema: z.object({ data: z.array(item), meta: z.object({ request_id: z.string() }) }),
    };
    const answer = (data: unknown, meta: Record<string, unknown> = { request_id: 'r' }) =>
      new Response(JSON.stringify({ data, meta }), { headers: { 'content-type': 'application/json' } });
    const ok = { id: 1, owner: { name: 'a' }, tags: ['x', { k: 'v' }] };
    await expect(checkContract([route], 'GET', '/things', answer([ok, { ...ok, owner: null }]))).resolves.toBeInstanceOf(Response);
    const cases: Array<[unknown, Record<string, unknown> | undefined, string]> = [
      [[ok, { ...ok, secret: 'x' }], undefined, 'data[1].secret'],
      [[{ ...ok, owner: { name: 'a', password_hash: 'h' } }], undefined, 'data[0].owner.password_hash'],
      [[{ ...ok, tags: [{ k: 'v', extra: 1 }] }], undefined, 'data[0].tags[0].extra'],
      [[ok], { request_id: 'r', debug: true }, 'meta.debug'],
    ];
    for (const [data, meta, field] of cases) {
      await expect(checkContract([route], 'GET', '/things', answer(data, meta)), field).rejects.toThrow(`does not declare: ${field}`);
    }
  });

  it('lets a schema declared loose carry more, and an error envelope its details', async () => {
    const route = {
      method: 'get' as const,
      path: '/loose',
      access: 'any' as const,
      operationId: 'getLoose',
      status: 200,
      errors: ['VALIDATION_ERROR', 'INTERNAL_ERROR'] as const,
      schema: z.object({ data: z.object({ a: z.number() }).passthrough() }),
    };
    const res = new Response(JSON.stringify({ data: { a: 1, b: 2 } }), { headers: { 'content-type': 'application/json' } });
    await expect(checkContract([route], 'GET', '/loose', res)).resolves.toBe(res);
    const error = {
      error: { code: 'VALIDATION_ERROR', message: 'bad', details: [{ path: 'qty', message: 'too small', minimum: 1 }] },
      meta: { request_id: 'r', timestamp: '2026-11-26T08:00:00.000Z' },
    };
    const refused = new Response(JSON.stringify(error), { status: 422, headers: { 'content-type': 'application/json' } });
    await expect(checkContract([route], 'GET', '/loose', refused)).resolves.toBe(refused);
    const stray = new Response(JSON.stringify({ ...error, stack: 'at …' }), { status: 500, headers: { 'content-type': 'application/json' } });
    await expect(checkContract([route], 'GET', '/loose', stray)).rejects.toThrow('does not declare: stack');
  });

  it('holds the real routes strictly: a work order answered with one more field fails', async () => {
    const planner = await gw.login('planner');
    const wo = { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' };
    const created = await body<Record<string, unknown>>(await gw.req('POST', '/workorders', { token: planner.token, body: wo }));
    const url = `/workorders/${created.data.id}`;
    const real = await body<Record<string, unknown>>(await gw.req('GET', url, { token: planner.token }));
    const answer = (data: unknown) => new Response(JSON.stringify({ ...real, data }), { headers: { 'content-type': 'application/json' } });
    await expect(checkContract(gw.routes, 'GET', url, answer(real.data))).resolves.toBeInstanceOf(Response);
    await expect(checkContract(gw.routes, 'GET', url, answer({ ...real.data, legacy_id: 7 }))).rejects.toThrow('does not declare: data.legacy_id');
  });

  it('fails a JSON success whose route it cannot find, but knows /openapi.json', async () => {
    const json = () => new Response('{"data":{}}', { headers: { 'content-type': 'application/json' } });
    await expect(checkContract(gw.routes, 'GET', '/workorderz', json())).rejects.toThrow(/no route of the contract matches it/);
    await expect(checkContract(gw.routes, 'POST', '/openapi.json', json())).rejects.toThrow(/no route of the contract matches it/);
    await expect(checkContract(gw.routes, 'GET', '/openapi.json', json())).resolves.toBeInstanceOf(Response);
    // An error needs no route: a 404 for an unknown path is checked against the error envelope.
    expect((await gw.req('GET', '/workorderz')).status).toBe(404);
  });
});

describe('device accounts (API.md, Roles)', () => {
  it('may post readings and read machines and themselves, and get 403 everywhere else', async () => {
    const admin = await gw.login('admin');
    const device = await gw.login('machine');
    const created = await gw.req('POST', '/machines', { token: admin.token, body: { name: 'press', machine_type: 'press' } });
    const id = (await body<{ id: number }>(created)).data.id;
    expect((await gw.req('POST', `/machines/${id}/readings`, { token: device.token, body: { reading_type: 't', value: 1 } })).status).toBe(201);
    for (const url of ['/machines', `/machines/${id}`, `/machines/${id}/readings`, '/auth/me']) {
      expect((await gw.req('GET', url, { token: device.token })).status, url).toBe(200);
    }
    for (const url of ['/workorders', '/stages', '/issues', '/auth/users', '/drivers/status']) {
      expect((await gw.req('GET', url, { token: device.token })).status, url).toBe(403);
    }
  });
});

describe('readings that are not good', () => {
  it('return their reason, and a null value where none could be read', async () => {
    const admin = await gw.login('admin');
    const created = await gw.req('POST', '/machines', { token: admin.token, body: { name: 'press', machine_type: 'press' } });
    const id = (await body<{ id: number }>(created)).data.id;
    gw.ctx.readings.push(
      [
        { machineId: id, readingType: 'temp', value: 21.5, unit: 'C', quality: 'good', reason: null, sourceTs: gw.clock.now() - 1000 },
        { machineId: id, readingType: 'temp', value: null, unit: 'C', quality: 'bad', reason: 'connection refused', sourceTs: gw.clock.now() },
      ],
      'modbus',
    );
    gw.ctx.readings.flush();
    const machine = await body<{ latest: Record<string, unknown> }>(await gw.req('GET', `/machines/${id}`, { token: admin.token }));
    expect(machine.data.latest.temp).toMatchObject({ value: null, quality: 'bad', reason: 'connection refused' });
    const list = await body<Array<Record<string, unknown>>>(await gw.req('GET', `/machines/${id}/readings`, { token: admin.token }));
    expect(list.data.map((r) => [r.value, r.quality, r.reason])).toEqual([
      [null, 'bad', 'connection refused'],
      [21.5, 'good', null],
    ]);
  });

  it("keep each machine's own reason in GET /machines when other machines store readings after them", async () => {
    const admin = await gw.login('admin');
    const make = async (name: string) =>
      (await body<{ id: number }>(await gw.req('POST', '/machines', { token: admin.token, body: { name, machine_type: 'press' } }))).data.id;
    const [oven, saw] = [await make('oven'), await make('saw')];
    const at = gw.clock.now();
    gw.ctx.readings.push(
      [{ machineId: oven, readingType: 'temp', value: null, unit: 'C', quality: 'bad', reason: 'not a finite number (NaN/Inf)', sourceTs: at }],
      'modbus',
    );
    gw.ctx.readings.flush();
    gw.ctx.readings.push(
      [{ machineId: saw, readingType: 'rpm', value: null, unit: null, quality: 'uncertain', reason: 'no fresh value for 3000 ms', sourceTs: at }],
      'modbus',
    );
    gw.ctx.readings.push([{ machineId: saw, readingType: 'load', value: 5, unit: null, quality: 'good', reason: null, sourceTs: at }], 'modbus');
    gw.ctx.readings.flush();
    const list = await body<Array<{ id: number; latest: Record<string, { reason: string | null }> }>>(await gw.req('GET', '/machines', { token: admin.token }));
    const latest = new Map(list.data.map((m) => [m.id, m.latest]));
    expect(latest.get(oven)?.temp?.reason).toBe('not a finite number (NaN/Inf)');
    expect(latest.get(saw)?.rpm?.reason).toBe('no fresh value for 3000 ms');
    expect(latest.get(saw)?.load?.reason).toBeNull();
  });
});

describe('ill-formed strings', () => {
  it('are refused with 422 in every string field, and nothing is stored', async () => {
    const planner = await gw.login('planner');
    const lone = 'bad \ud800 end';
    const wo = { product_code: 'P', lot_no: 'L', qty: 1, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T09:00:00Z' };
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/workorders', { ...wo, product_code: lone }],
      ['POST', '/workorders', { ...wo, lot_no: '\udc00' }],
      ['POST', '/machines', { name: 'm', machine_type: 'press', location: lone }],
      ['POST', '/auth/register', { username: 'someone', password: `long-enough${lone}` }],
    ];
    for (const [method, url, payload] of cases) {
      const res = await gw.req(method, url, { token: planner.token, body: payload });
      expect(res.status, `${url} ${JSON.stringify(payload)}`).toBe(422);
      expect(JSON.stringify((await body(res)).error.details)).toContain('well-formed');
    }
    expect(rowCount(gw.ctx, 'work_orders')).toBe(0);
    expect(rowCount(gw.ctx, 'machines')).toBe(0);
    // A surrogate pair (an emoji) is well-formed and accepted.
    expect((await gw.req('POST', '/workorders', { token: planner.token, body: { ...wo, lot_no: 'L-😀' } })).status).toBe(201);
  });
});
