import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { accessLogger, type Logger } from '../../logger.ts';
import { type ProxyTrust, proxyTrust, resolveClientAddress } from '../client-address.ts';
import type { HttpEnv } from '../types.ts';

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** What @hono/node-server passes as `c.env`; absent for in-process app.request() calls. */
type NodeBindings = Partial<HttpBindings> | undefined;

/** Status logged and counted for a request whose client left before its answer (as nginx does). */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * True when the client closed the connection before the response was sent (for instance in the
 * middle of its body): not a server fault, so it is neither an unexpected error nor a 500.
 */
export function clientClosed(c: Context<HttpEnv>): boolean {
  return c.req.raw.signal.aborted;
}

/**
 * Sets the request id (reusing a well-formed inbound X-Request-Id), the client address, and
 * writes one summary log line and one metrics observation per request.
 */
export function requestContext(
  logger: Logger,
  /** TRUST_PROXY and TRUSTED_PROXIES (see client-address.ts). */
  proxies: { trustProxy: boolean; trustedProxies: string[] },
  /** Called once per request with the matched route pattern (for metrics). */
  observe: (method: string, route: string, status: number, seconds: number) => void = () => {},
): MiddlewareHandler<HttpEnv> {
  const trust: ProxyTrust = proxyTrust(proxies);
  const access = accessLogger(logger);
  return (c, next) => {
    const started = performance.now();
    const node = c.env as NodeBindings;
    const inbound = c.req.header('x-request-id');
    const requestId = inbound && INBOUND_ID.test(inbound) ? inbound : randomUUID();
    c.set('requestId', requestId);
    c.set('clientIp', resolveClientAddress(node?.incoming?.socket.remoteAddress, c.req.header('x-forwarded-for'), trust));
    // Speed-up "request id on Node's response" (issue 7): the request that owns the socket puts its
    // id on Node's response itself: Hono would otherwise build a Headers object per response, which
    // node-server then converts back (~3% of a small read's CPU profile, docs/benchmarks.md).
    // Requests made in-process by the console or the legacy listener share that socket's
    // response, so they find the header taken and set theirs on their own Response.
    const outgoing = node?.outgoing;
    if (outgoing && !outgoing.headersSent && !outgoing.hasHeader('x-request-id')) outgoing.setHeader('X-Request-Id', requestId);
    else c.header('X-Request-Id', requestId);
    const finish = () => {
      // Only failed requests are checked: reading the signal costs an AbortController.
      const closed = c.res.status >= 400 && clientClosed(c);
      const status = closed ? CLIENT_CLOSED_STATUS : c.res.status;
      const ms = performance.now() - started;
      observe(c.req.method, c.req.routePath || 'unmatched', status, ms / 1000);
      const line = {
        request_id: requestId,
        method: c.req.method,
        path: c.req.path,
        status,
        duration_ms: Math.round(ms * 100) / 100,
        user_id: c.get('user')?.id,
        client_ip: c.get('clientIp'),
      };
      if (closed) access('info', line, 'client closed request');
      else if (status >= 500) access('error', line, 'request');
      else access('info', line, 'request');
    };
    // Not an async function: one promise less per request. Hono turns errors of later handlers
    // into responses before they reach here; anything else is logged and passed on.
    return next().then(finish, (err: unknown) => {
      finish();
      throw err;
    });
  };
}
