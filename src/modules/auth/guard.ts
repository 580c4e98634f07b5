import type { Context, MiddlewareHandler } from 'hono';
import type { AppContext, TokenClaims } from '../../context.ts';
import { AppError } from '../../errors.ts';
import type { Access } from '../../http/route.ts';
import type { AuthUser, HttpEnv } from '../../http/types.ts';
import { resolveSession } from './service.ts';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i;

/**
 * Builds the access guard: verifies the bearer token (HS256 pinned), then reads the session and
 * the user on every request (through the session cache, which every change of users or sessions
 * clears), so a revoked token, a deactivation or a role change takes effect on the next request.
 * A token verified before is checked without a promise: most requests pass the guard in the same
 * turn.
 */
export function createGuard(ctx: AppContext): (access: Access, devices?: boolean) => MiddlewareHandler<HttpEnv> {
  const tokenOf = (header: string | undefined): string => {
    const match = header ? BEARER.exec(header) : null;
    if (!match?.[1]) throw new AppError('UNAUTHORIZED', 'a bearer token is required');
    return match[1];
  };

  const userOf = (claims: TokenClaims | undefined, now: number): AuthUser => {
    const user = claims ? resolveSession(ctx, claims.sessionId, claims.userId, now) : undefined;
    if (!claims || !user) throw new AppError('UNAUTHORIZED', 'the token is invalid, expired or revoked');
    return { ...user, sessionId: claims.sessionId };
  };

  return (access, devices = false) => {
    if (access === 'public') return (_c, next) => next();
    const admit = (c: Context<HttpEnv>, user: AuthUser) => {
      c.set('user', user);
      // A device account reaches only what API.md's Roles section lists for it: `optional` and
      // `any` routes are for people unless the route says devices too.
      const allowed = access === 'optional' || access === 'any' ? user.role !== 'machine' || devices : access.includes(user.role);
      if (!allowed) throw new AppError('FORBIDDEN', `this action is not allowed for role ${user.role}`);
    };
    return (c, next) => {
      const header = c.req.header('authorization');
      if (access === 'optional' && header === undefined) return next();
      const token = tokenOf(header);
      const now = ctx.clock.now();
      const known = ctx.tokens.verified(token, now);
      if (known) {
        admit(c, userOf(known, now));
        return next();
      }
      return ctx.tokens.verify(token, now).then((claims) => {
        admit(c, userOf(claims, now));
        return next();
      });
    };
  };
}
