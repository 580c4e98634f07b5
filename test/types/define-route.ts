import { z } from '@hono/zod-openapi';
import type { AppContext } from '../../src/context.ts';
import { command } from '../../src/http/command.ts';
import { JsonText } from '../../src/http/json-rows.ts';
import { defineRoute, raw, type Router } from '../../src/http/route.ts';

/** A small response schema and path params, shared with define-route.test.ts. */
export const thing = z.object({ id: z.number().int(), name: z.string(), seen_at: z.string().nullable() });
export const params = z.object({ thing_id: z.string() });

/**
 * Compile-time checks (`npm run typecheck`): each line marked `@ts-expect-error` must fail to
 * compile, so a handler that answers another shape than its spec declares is a build error.
 * Never called; define-route.test.ts checks the same routes at run time.
 */
export function handlerMistakes(router: Router, ctx: AppContext): void {
  const base = { tag: 't', summary: 's', access: 'public' } as const;
  // @ts-expect-error a field of the response schema is missing
  defineRoute(router, { ...base, method: 'get', path: '/a', response: thing }, () => ({ id: 1, name: 'press' }));
  // @ts-expect-error a field has the wrong type (epoch ms where the schema says an ISO string)
  defineRoute(router, { ...base, method: 'get', path: '/b', response: thing }, () => ({ id: 1, name: 'press', seen_at: 1_764_144_000_000 }));
  // @ts-expect-error a list answers a page ({ items, nextCursor }), not a bare array
  defineRoute(router, { ...base, method: 'get', path: '/c', response: thing, list: true }, () => [{ id: 1, name: 'press', seen_at: null }]);
  // @ts-expect-error a route with a schema cannot bypass it with a raw Response
  defineRoute(router, { ...base, method: 'get', path: '/d', response: thing }, (c) => raw(c.text('no')));
  // @ts-expect-error nor return a Response built by hand
  defineRoute(router, { ...base, method: 'get', path: '/e', response: thing }, (c) => c.json({ id: 1 }));
  // @ts-expect-error a 204 route answers nothing
  defineRoute(router, { ...base, method: 'delete', path: '/f', status: 204 }, () => ({ id: 1 }));
  // @ts-expect-error a route without a schema answers only through `raw`
  defineRoute(router, { ...base, method: 'get', path: '/g' }, () => ({ id: 1 }));
  // @ts-expect-error a command's result must have the response schema's type too
  defineRoute(router, { ...base, method: 'post', path: '/h', response: thing }, () => command(ctx, () => ({ id: 'one' })));
  // @ts-expect-error JSON text (the row JSON cache) must stand for the response schema's type
  defineRoute(router, { ...base, method: 'get', path: '/j', response: thing }, () => new JsonText<{ id: number }>('{"id":1}'));
  const oneAsPage = { items: new JsonText<z.input<typeof thing>>('{}'), nextCursor: null };
  // @ts-expect-error and a list's JSON text is a page of that type, not a single item
  defineRoute(router, { ...base, method: 'get', path: '/k', response: thing, list: true }, () => oneAsPage);
  const byId = { ...base, method: 'get', path: '/i/{thing_id}', params, response: thing } as const;
  // @ts-expect-error the validated params have only the declared keys
  defineRoute(router, byId, (_c, { params: p }) => ({ id: p.other, name: '', seen_at: null }));
}
