import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import type { Access } from '../../http/route.ts';
import type { HttpEnv } from '../../http/types.ts';
import { resolveSession } from './service.ts';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i;

/**
 * Builds the access guard: verifies the bearer token (HS256 pinned), then reads the session and
 * the user from the database on every request, so a revoked token, a deactivation or a role
 * change takes effect on the next request.
 */
export function createGuard(ctx: AppContext): (access: Access, devices?: boolean) => MiddlewareHandler<HttpEnv> {
  const authenticate = async (header: string | undefined) => {
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) throw new AppError('UNAUTHORIZED', 'a bearer token is required');
    const now = ctx.clock.now();
    const claims = await ctx.tokens.verify(match[1], now);
    const user = claims ? resolveSession(ctx, claims.sessionId, claims.userId, now) : undefined;
    if (!claims || !user) {
      throw new AppError('UNAUTHORIZED', 'the token is invalid, expired or revoked');
    }
    return { ...user, sessionId: claims.sessionId };
  };

  return (access, devices = false) => {
    if (access === 'public') return async (_c, next) => next();
    return async (c, next) => {
      const header = c.req.header('authorization');
      if (access === 'optional' && header === undefined) return next();
      const user = await authenticate(header);
      c.set('user', user);
      // A device account reaches only what API.md's Roles section lists for it.
      const allowed = access === 'optional' || (access === 'any' ? user.role !== 'machine' || devices : access.includes(user.role));
      if (!allowed) throw new AppError('FORBIDDEN', `this action is not allowed for role ${user.role}`);
      return next();
    };
  };
}
