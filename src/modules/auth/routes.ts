import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { actorOf, optionalActorOf, requestMeta } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { changeOwnPassword, login, logout, register } from './service.ts';
import { changeRole, listActiveWorkers, listUsers, resetPassword, setActive } from './users.ts';
import * as s from './schemas.ts';

export function registerAuthRoutes(router: Router, ctx: AppContext): void {
  defineRoute(
    router,
    {
      method: 'post',
      path: '/auth/register',
      tag: 'auth',
      summary: 'Create an account (worker unless an admin asks)',
      access: 'optional',
      // A taken username; anonymous registrations are throttled per address.
      errors: ['CONFLICT', 'RATE_LIMITED'],
      body: s.registerBody,
      response: s.user,
      status: 201,
    },
    async (c, { body }) => {
      const caller = optionalActorOf(c);
      if (!ctx.config.registrationOpen && caller?.role !== 'admin') {
        throw new AppError('FORBIDDEN', 'public registration is switched off; ask an admin');
      }
      return register(ctx, body, caller, requestMeta(c));
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/auth/login',
      tag: 'auth',
      summary: 'Log in (JSON or form body)',
      access: 'public',
      errors: ['UNAUTHORIZED', 'RATE_LIMITED'],
      body: s.loginBody,
      formBody: true,
      response: s.loginResult,
    },
    (c, { body }) => login(ctx, body, requestMeta(c)),
  );

  // The guard has just read this user from the database; no second query.
  defineRoute(router, { method: 'get', path: '/auth/me', tag: 'auth', summary: 'The current user', access: 'any', devices: true, response: s.user }, (c) => {
    const { sessionId: _session, ...user } = c.get('user');
    return { ...user, created_at: iso(user.created_at) };
  });

  defineRoute(
    router,
    { method: 'get', path: '/auth/users', tag: 'auth', summary: 'List users', access: ['admin'], query: s.usersQuery, response: s.user, list: true },
    (_c, { query }) => listUsers(ctx, query),
  );

  // Least privilege for assignment forms: planners and supervisors see active workers, nothing more.
  defineRoute(
    router,
    {
      method: 'get',
      path: '/auth/workers',
      tag: 'auth',
      summary: 'List active workers (to assign them to stages)',
      access: ['admin', 'planner', 'manager'],
      query: s.usersQuery,
      response: s.assignableWorker,
      list: true,
    },
    (_c, { query }) => listActiveWorkers(ctx, query),
  );

  defineRoute(
    router,
    {
      method: 'patch',
      path: '/auth/users/{user_id}/role',
      tag: 'auth',
      summary: "Change a user's role",
      access: ['admin'],
      // The last admin cannot be demoted.
      errors: ['CONFLICT'],
      params: s.userParams,
      body: s.roleBody,
      response: s.user,
    },
    (c, { params, body }) => command(ctx, (tx) => changeRole(ctx, tx, actorOf(c), params.user_id, body.role)),
  );

  defineRoute(
    router,
    {
      method: 'patch',
      path: '/auth/users/{user_id}',
      tag: 'auth',
      summary: 'Activate or deactivate a user',
      access: ['admin'],
      // The last active admin cannot be deactivated.
      errors: ['CONFLICT'],
      params: s.userParams,
      body: s.activeBody,
      response: s.user,
    },
    (c, { params, body }) => command(ctx, (tx) => setActive(ctx, tx, actorOf(c), params.user_id, body.active)),
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/auth/password',
      tag: 'auth',
      summary: 'Change your own password',
      access: 'any',
      devices: true,
      body: s.changePasswordBody,
      status: 204,
      credentials: true,
    },
    async (c, { body }) => {
      await changeOwnPassword(ctx, actorOf(c), body);
      return undefined;
    },
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/auth/users/{user_id}/password',
      tag: 'auth',
      summary: "Set a user's password",
      access: ['admin'],
      params: s.userParams,
      body: s.resetPasswordBody,
      status: 204,
      credentials: true,
    },
    async (c, { params, body }) => {
      await resetPassword(ctx, actorOf(c), params.user_id, body.new_password);
      return undefined;
    },
  );

  defineRoute(
    router,
    { method: 'post', path: '/auth/logout', tag: 'auth', summary: 'Revoke the presented token', access: 'any', devices: true, status: 204 },
    (c) => command(ctx, () => logout(ctx, actorOf(c))),
  );
}
