import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/core/vocabulary.ts';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/modules/auth/tokens.ts';
import { body, makeGateway, T0, TEST_SECRET, type TestGateway } from './helpers/app.ts';

// One table-driven test over every registered route: who gets 401, who gets 403, and which
// forged or stale tokens are refused. A new route is covered the moment it is registered.

let gw: TestGateway;
const tokens = {} as Record<Role, string>;
let userId = 0;

beforeAll(async () => {
  gw = makeGateway();
  for (const role of ROLES) {
    const u = await gw.login(role);
    tokens[role] = u.token;
    userId = u.id;
  }
});
afterAll(() => gw.close());

const concrete = (path: string) => path.replace(/\{[a-z_]+\}/g, '424242');
const key = new TextEncoder().encode(TEST_SECRET);
const nowS = Math.floor(T0 / 1000);

async function forged(): Promise<Record<string, string>> {
  const base = () => new SignJWT({}).setSubject(String(userId)).setJti('x').setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setIssuedAt(nowS);
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: String(userId), jti: 'x', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, iat: nowS, exp: nowS + 3600 })).toString(
    'base64url',
  );
  const valid = tokens.admin;
  const [h, p, s] = valid.split('.');
  const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), sub: '1' })).toString('base64url');
  return {
    'alg none': `${header}.${payload}.`,
    'wrong algorithm (HS512)': await base()
      .setProtectedHeader({ alg: 'HS512' })
      .setExpirationTime(nowS + 3600)
      .sign(key),
    expired: await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(nowS - 10)
      .sign(key),
    'missing exp': await base().setProtectedHeader({ alg: 'HS256' }).sign(key),
    'wrong audience': await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('someone-else')
      .setExpirationTime(nowS + 3600)
      .sign(key),
    'other secret': await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(nowS + 3600)
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!')),
    tampered: `${h}.${tamperedPayload}.${s}`,
    garbage: 'not-a-jwt',
  };
}

describe('role matrix over every route', () => {
  it('covers the whole API', () => {
    const paths = new Set(gw.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    for (const expected of [
      'POST /auth/register',
      'PATCH /auth/users/{user_id}/role',
      'GET /auth/workers',
      'POST /workorders',
      'POST /stages/{wos_id}/start',
      'PATCH /stages/{wos_id}/issues/{issue_id}',
      'DELETE /stages/{wos_id}/assignments/{user_id}',
      'GET /issues/{issue_id}',
      'POST /machines/{machine_id}/readings',
      'GET /drivers/status',
      'GET /sync/status',
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it('answers 401 without a token and 403 for each role not allowed, and lets allowed roles through', async () => {
    const failures: string[] = [];
    // Logout revokes the token it is called with, so it goes last.
    const ordered = [...gw.routes].sort((a, b) => Number(a.path === '/auth/logout') - Number(b.path === '/auth/logout'));
    for (const route of ordered) {
      if (route.access === 'public' || route.access === 'optional') continue;
      const url = concrete(route.path);
      const method = route.method.toUpperCase();
      const anon = await gw.req(method, url, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      if (anon.status !== 401 || (await body(anon)).error.code !== 'UNAUTHORIZED') failures.push(`${method} ${route.path} without token: ${anon.status}`);
      for (const role of ROLES) {
        // "any" is the four human roles; a device account only where the route admits devices.
        const allowed = route.access === 'any' ? role !== 'machine' || route.devices === true : route.access.includes(role);
        const res = await gw.req(method, url, { token: tokens[role], body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        if (allowed && (res.status === 401 || res.status === 403)) failures.push(`${method} ${route.path} as ${role}: ${res.status}, expected access`);
        if (!allowed && res.status !== 403) failures.push(`${method} ${route.path} as ${role}: ${res.status}, expected 403`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses a device account on routes that take an optional token, and lets people through', async () => {
    // Fresh tokens: the matrix above ends with a logout of each role's.
    const device = (await gw.login('machine')).token;
    const person = (await gw.login('worker')).token;
    const optional = gw.routes.filter((r) => r.access === 'optional');
    expect(optional.map((r) => `${r.method.toUpperCase()} ${r.path}`)).toContain('POST /auth/register');
    for (const route of optional) {
      const method = route.method.toUpperCase();
      const res = await gw.req(method, concrete(route.path), { token: device, body: method === 'GET' ? undefined : {} });
      expect(res.status, `${method} ${route.path} as machine`).toBe(403);
    }
    const made = await gw.req('POST', '/auth/register', { token: person, body: { username: 'by-a-worker', password: 'a-long-enough-password' } });
    expect(made.status).toBe(201);
    expect((await gw.req('POST', '/auth/register', { token: device, body: { username: 'by-a-device', password: 'a-long-enough-password' } })).status).toBe(403);
    expect(gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM users WHERE username = 'by-a-device'").get()).toEqual({ n: 0 });
  });

  it('refuses forged, expired and malformed tokens on every protected route', async () => {
    const bad = await forged();
    const failures: string[] = [];
    for (const route of gw.routes) {
      if (route.access === 'public') continue;
      for (const [name, token] of Object.entries(bad)) {
        const res = await gw.req(route.method.toUpperCase(), concrete(route.path), { token, body: route.method === 'get' ? undefined : {} });
        if (res.status !== 401) failures.push(`${route.method} ${route.path} with ${name}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
