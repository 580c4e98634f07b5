import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { requestPath } from '../src/client/client.ts';
import { API_ROUTES, type ClientRoute } from '../src/client/routes.ts';
import type { RouteInfo } from '../src/http/route.ts';
import { makeGateway, type TestGateway } from './helpers/app.ts';

let gw: TestGateway | undefined;
afterEach(() => gw?.close());

type Schema = z.ZodType;
/** What the OpenAPI registry keeps of one registered route: its request schemas. */
interface Registered {
  method: string;
  path: string;
  request?: { body?: { content?: Record<string, { schema?: Schema }> }; query?: Schema };
}

// Compared as JSON Schema of what each accepts: a factory's schema is built anew per call, so
// identity cannot be asked of it, and a type follows from the structure, not the object.
const shape = (s: Schema | undefined) => (s === undefined ? undefined : JSON.stringify(z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' })));
const built = (s: ClientRoute['body'], tz: string) => (typeof s === 'function' ? s(tz) : s);

/** Every difference between a client route table and the routes an app registered. */
function tableMismatches(table: Record<string, ClientRoute>, routes: RouteInfo[], registered: Registered[], tz: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const info of routes) {
    const key = `${info.method.toUpperCase()} ${info.path}`;
    const entry = table[key];
    const json = info.schema !== undefined || info.status === 204;
    if (!json) {
      if (entry) out.push(`${key}: answers no JSON envelope, yet is in the table`);
      continue;
    }
    if (!entry) {
      out.push(`${key}: registered but missing from the table`);
      continue;
    }
    seen.add(key);
    const envelope = info.schema instanceof z.ZodObject ? info.schema.shape : undefined;
    // A list's envelope pages: its meta carries next_cursor, and its data is an array of the items.
    const list = envelope?.meta instanceof z.ZodObject && 'next_cursor' in envelope.meta.shape;
    const data = envelope?.data as Schema | undefined;
    const item = list && data instanceof z.ZodArray ? (data.element as Schema) : data;
    if (list !== (entry.list === true)) out.push(`${key}: list flag differs`);
    if (shape(item) !== shape(entry.response)) out.push(`${key}: response schema differs`);
    const reg = registered.find((r) => r.method === info.method && r.path === info.path);
    if (shape(reg?.request?.body?.content?.['application/json']?.schema) !== shape(built(entry.body, tz))) out.push(`${key}: body schema differs`);
    if (shape(reg?.request?.query) !== shape(built(entry.query, tz))) out.push(`${key}: query schema differs`);
  }
  for (const key of Object.keys(table)) if (!seen.has(key)) out.push(`${key}: in the table but not registered`);
  return out;
}

function registry(g: TestGateway): Registered[] {
  const defs = g.app.openAPIRegistry.definitions as Array<{ type: string; route?: Registered }>;
  return defs.flatMap((d) => (d.type === 'route' && d.route ? [d.route] : []));
}

describe('the typed client route table', () => {
  it('names exactly the JSON routes the app registers, with the same response, body, query and list flag', () => {
    gw = makeGateway();
    expect(tableMismatches(API_ROUTES, gw.routes, registry(gw), gw.ctx.config.plantTz)).toEqual([]);
  });

  it('reports a route whose schema, list flag or presence differs (the check itself can fail)', () => {
    gw = makeGateway();
    const table: Record<string, ClientRoute> = { ...API_ROUTES };
    table['GET /machines/{machine_id}'] = { response: z.object({ id: z.number(), location: z.string() }) };
    table['GET /issues'] = { ...API_ROUTES['GET /issues'], list: undefined } as ClientRoute;
    table['POST /stages/{wos_id}/pause'] = { ...API_ROUTES['POST /stages/{wos_id}/pause'], body: API_ROUTES['POST /stages/{wos_id}/start'].body };
    table['GET /stages'] = { ...API_ROUTES['GET /stages'], query: API_ROUTES['GET /issues'].query };
    delete table['POST /auth/logout'];
    table['GET /nowhere'] = {};
    expect(tableMismatches(table, gw.routes, registry(gw), gw.ctx.config.plantTz).sort()).toEqual([
      'GET /issues: list flag differs',
      'GET /machines/{machine_id}: response schema differs',
      'GET /nowhere: in the table but not registered',
      'GET /stages: query schema differs',
      'POST /auth/logout: registered but missing from the table',
      'POST /stages/{wos_id}/pause: body schema differs',
    ]);
  });
});

describe('requestPath', () => {
  it('fills path parameters URL-encoded and appends only the query values given', () => {
    expect(requestPath('/stages/{wos_id}/issues/{issue_id}', { wos_id: 7, issue_id: '../x' })).toBe('/stages/7/issues/..%2Fx');
    expect(requestPath('/downtimes', {}, { from: '2026-11-26T08:00:00.000Z', limit: 50, machine_id: undefined })).toBe(
      '/downtimes?from=2026-11-26T08%3A00%3A00.000Z&limit=50',
    );
  });

  it('refuses a path whose parameter is missing instead of calling another route', () => {
    expect(() => requestPath('/machines/{machine_id}', {})).toThrow('path parameter machine_id missing');
  });
});
