import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Logger } from '../../logger.ts';
import { type ProxyTrust, proxyTrust, resolveClientAddress } from '../client-address.ts';
import type { HttpEnv } from '../types.ts';

const INBOUND_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The socket's peer through @hono/node-server; absent for in-process app.request() calls. */
function peerAddress(c: Context<HttpEnv>): string | undefined {
  return c.env ? getConnInfo(c).remote.address : undefined;
}

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
  return async (c, next) => {
    const started = performance.now();
    const inbound = c.req.header('x-request-id');
    const requestId = inbound && INBOUND_ID.test(inbound) ? inbound : randomUUID();
    c.set('requestId', requestId);
    c.set('clientIp', resolveClientAddress(peerAddress(c), c.req.header('x-forwarded-for'), trust));
    // Set before the handler so the response is built with it (touching c.res.headers afterwards
    // would turn node-server's light response into a full Response object: much slower).
    c.header('X-Request-Id', requestId);
    try {
      await next();
    } finally {
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
      if (closed) logger.info(line, 'client closed request');
      else if (status >= 500) logger.error(line, 'request');
      else logger.info(line, 'request');
    }
  };
}
