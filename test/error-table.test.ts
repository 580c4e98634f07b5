import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOMAIN_ERROR_CODES } from '../src/errors.ts';
import { codeOfHttpException, ERROR_STATUS, TRANSPORT_ERROR_CODES } from '../src/http/errors.ts';
import { makeGateway, type TestGateway } from './helpers/app.ts';

type Operation = { responses: Record<string, { description: string }> };

let gw: TestGateway;
let paths: Record<string, Record<string, Operation>>;
beforeAll(async () => {
  gw = makeGateway();
  paths = ((await (await gw.req('GET', '/openapi.json')).json()) as { paths: typeof paths }).paths;
});
afterAll(() => gw.close());

const errorStatuses = (op: Operation) => Object.keys(op.responses).filter((s) => Number(s) >= 400);
const operation = (method: string, path: string): Operation => {
  const op = paths[path]?.[method];
  if (!op) throw new Error(`no ${method} ${path} in /openapi.json`);
  return op;
};

describe('the error table', () => {
  it('maps every domain and transport code to exactly one status, as API.md does', () => {
    const codes = [...DOMAIN_ERROR_CODES, ...TRANSPORT_ERROR_CODES];
    expect(new Set(codes).size, 'a code is both a domain and a transport code').toBe(codes.length);
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...codes].sort());
    const documented = new Map<string, number>();
    for (const [, code, status] of readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8').matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) {
      expect(documented.has(code as string), `${code} twice in docs/api.md`).toBe(false);
      documented.set(code as string, Number(status));
    }
    expect(Object.fromEntries(documented)).toEqual(ERROR_STATUS);
  });

  it("reads a library exception's client-error status as the one code of that status, and nothing else", () => {
    expect(codeOfHttpException(400)).toBe('MALFORMED_REQUEST');
    expect(codeOfHttpException(415)).toBe('UNSUPPORTED_MEDIA_TYPE');
    // 409 stands for two codes, 418 for none, and a 5xx is our fault, answered without its message.
    expect(codeOfHttpException(409)).toBeUndefined();
    expect(codeOfHttpException(418)).toBeUndefined();
    expect(codeOfHttpException(503)).toBeUndefined();
  });
});

describe('each operation advertises the errors it can answer', () => {
  it('no GET lists a body error (400, 413, 415)', () => {
    const gets = Object.entries(paths).filter(([, ops]) => ops.get);
    expect(gets.length).toBeGreaterThan(10);
    for (const [path, ops] of gets) {
      for (const status of ['400', '413', '415']) expect(ops.get?.responses[status], `GET ${path} ${status}`).toBeUndefined();
    }
  });

  it('a route without auth lists no 401 or 403, one with a body lists them all', () => {
    expect(errorStatuses(operation('get', '/ready'))).toEqual(['500', '503']);
    expect(errorStatuses(operation('post', '/workorders'))).toEqual(['400', '401', '403', '413', '415', '422', '500', '503']);
    // Device accounts may call it: the guard refuses nobody once signed in.
    expect(errorStatuses(operation('get', '/machines'))).toEqual(['401', '422', '500', '503']);
  });

  it("names the codes of each status, as the operation's service can answer them", () => {
    expect(operation('patch', '/stages/{wos_id}/issues/{issue_id}').responses['409']?.description).toBe('INVALID_TRANSITION');
    expect(operation('post', '/machines').responses['409']?.description).toBe('CONFLICT');
    expect(operation('get', '/oee').responses['404']?.description).toBe('NOT_FOUND');
    expect(operation('post', '/auth/login').responses['401']?.description).toBe('UNAUTHORIZED');
    expect(operation('get', '/workorders').responses['409']).toBeUndefined();
  });

  it('lists in /openapi.json exactly the codes the route registry holds (what the contract check enforces)', () => {
    for (const route of gw.routes) {
      const op = operation(route.method, route.path);
      const statuses = [...new Set(route.errors.map((code) => String(ERROR_STATUS[code])))];
      expect(errorStatuses(op), `${route.method} ${route.path}`).toEqual(statuses);
    }
  });
});
