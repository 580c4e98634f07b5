import type { Context } from 'hono';
import type { Actor } from '../context.ts';
import type { HttpEnv } from './types.ts';

/** The acting user of an authenticated request, as services see it. */
export function actorOf(c: Context<HttpEnv>): Actor & { sessionId: string } {
  const user = c.get('user');
  return { userId: user.id, role: user.role, sessionId: user.sessionId, requestId: c.get('requestId'), clientIp: c.get('clientIp') };
}

/** The caller of a route that may be anonymous (`optional` access): undefined without a token. */
export function optionalActorOf(c: Context<HttpEnv>): (Actor & { sessionId: string }) | undefined {
  return c.get('user') ? actorOf(c) : undefined;
}

/** Where a request came from, for audit rows of anonymous requests (login, registration). */
export function requestMeta(c: Context<HttpEnv>): { clientIp: string; requestId: string } {
  return { clientIp: c.get('clientIp'), requestId: c.get('requestId') };
}
