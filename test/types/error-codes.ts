import { z } from '@hono/zod-openapi';
import { AppError } from '../../src/errors.ts';
import { defineRoute, type Router } from '../../src/http/route.ts';

/**
 * Compile-time checks (`npm run typecheck`) of the error table's split (ADR 0021): a service's
 * AppError and a route's declared `errors` take domain codes only; the codes of a request that
 * could not be read belong to the HTTP layer. Never called.
 */
export function errorCodeMistakes(router: Router): void {
  // @ts-expect-error a service cannot answer a transport code
  void new AppError('PAYLOAD_TOO_LARGE', 'too large');
  new AppError('CONFLICT', 'taken');
  defineRoute(
    router,
    // @ts-expect-error a route declares only what its service refuses; 415 follows from its body
    { method: 'post', path: '/a', tag: 't', summary: 's', access: 'any', body: z.object({}), status: 204, errors: ['UNSUPPORTED_MEDIA_TYPE'] },
    () => undefined,
  );
  defineRoute(router, { method: 'post', path: '/b', tag: 't', summary: 's', access: 'any', status: 204, errors: ['CONFLICT'] }, () => undefined);
}
