import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { apiError, codeOfHttpException, type ErrorCode, fail, isApiError, TransportError } from './errors.ts';
import { idempotency } from './middleware/idempotency.ts';
import { clientClosed, requestContext } from './middleware/request-context.ts';
import type { Access, Router } from './route.ts';
import type { HttpEnv } from './types.ts';
import { validationHook } from './validation.ts';

/** Our words for the library's exceptions whose own message reads badly in the envelope. */
const HTTP_EXCEPTION_MESSAGES: Partial<Record<ErrorCode, string>> = {
  MALFORMED_REQUEST: 'the request body is not valid JSON or form data',
  UNSUPPORTED_MEDIA_TYPE: 'send the body as application/json',
};

/**
 * Builds the Hono app without routes: request context, envelope, error mapping and limits. The
 * returned router is what modules register their routes on (src/app.ts wires them), so this
 * folder never imports a module. `guard` authenticates and checks a route's access.
 */
export function createHttpApp(ctx: AppContext, guard: (access: Access, devices?: boolean) => MiddlewareHandler<HttpEnv>): Router {
  const app = new OpenAPIHono<HttpEnv>({ strict: false, defaultHook: validationHook });
  const log = ctx.logger.child({ module: 'http' });

  app.use(
    '*',
    requestContext(log, ctx.config, (method, route, status, seconds) => ctx.metrics.httpRequests.observe(method, route, status, seconds)),
  );
  if (ctx.config.corsOrigins.length > 0) {
    app.use('*', cors({ origin: ctx.config.corsOrigins, exposeHeaders: ['X-Request-Id', 'Retry-After'], maxAge: 600 }));
  }
  const tooLarge = () => new TransportError('PAYLOAD_TOO_LARGE', `the body is larger than ${ctx.config.bodyLimit} bytes`);
  const limit = bodyLimit({
    maxSize: ctx.config.bodyLimit,
    onError: () => {
      throw tooLarge();
    },
  });
  // Not an async function: a read passes with no promise of its own.
  app.use('*', (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // A declared length is checked from the header alone: Node's parser never reads past it, and
    // touching `raw.body` (as bodyLimit does first) would build a web Request and stream for every
    // write instead of @hono/node-server's direct read. Chunked bodies are counted as they arrive.
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return limit(c, next);
    if (Number(length) > ctx.config.bodyLimit) throw tooLarge();
    return next();
  });

  app.onError((err, c) => {
    if (isApiError(err)) return fail(c, err);
    // Nobody reads this answer; request-context logs and counts it as 499, not as our fault.
    if (clientClosed(c)) return fail(c, new TransportError('MALFORMED_REQUEST', 'the client closed the connection'));
    if (err instanceof HTTPException) {
      const code = codeOfHttpException(err.status);
      if (code) return fail(c, apiError(code, HTTP_EXCEPTION_MESSAGES[code] ?? err.message));
    }
    // Logged with its cause (rate-limited) and counted by the fault reporter.
    const storage = ctx.store.faults.report(err, 'request');
    if (storage) return fail(c, storage);
    log.error({ request_id: c.get('requestId'), err }, 'unexpected error');
    return fail(c, new TransportError('INTERNAL_ERROR', 'an unexpected error occurred; quote the request id when reporting it'));
  });
  app.notFound((c) => fail(c, new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  return { app, routes: [], guard, idempotency: idempotency(ctx) };
}
