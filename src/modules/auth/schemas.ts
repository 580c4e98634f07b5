import { z } from '@hono/zod-openapi';
import { ROLES } from '../../core/vocabulary.ts';
import { idParams, pageQuery, password, str, username } from '../../http/schemas.ts';

export const role = z.enum(ROLES);

export const user = z.object({ id: z.number().int(), username: z.string(), role, active: z.boolean(), created_at: z.string() }).openapi('User');
/** A user as the API shows it (never the hash). */
export type UserView = z.input<typeof user>;

/** What a planner may see of a worker to assign it: no creation date, no other roles. */
export const assignableWorker = z
  .object({ id: z.number().int(), username: z.string(), role: z.literal('worker'), active: z.literal(true) })
  .openapi('AssignableWorker');
export type AssignableWorker = z.input<typeof assignableWorker>;

export const registerBody = z
  .object({ username, password, role: role.optional().openapi({ description: 'honoured only for an admin caller' }) })
  .openapi('RegisterRequest');

export const loginBody = z.object({ username: str(1, 64), password: str(1, 256) }).openapi('LoginRequest');

export const loginResult = z.object({ access_token: z.string(), token_type: z.literal('bearer'), expires_in: z.number().int(), user }).openapi('LoginResult');
export type LoginResult = z.input<typeof loginResult>;

export const usersQuery = z.object(pageQuery);
export const userParams = idParams('user_id');

// PATCH bodies are strict: a field a route does not own (a `role` sent to /users/{id}) is refused.
export const roleBody = z.object({ role }).strict();
export const activeBody = z.object({ active: z.boolean() }).strict();
export const changePasswordBody = z.object({ current_password: str(1, 256), new_password: password }).strict();
export const resetPasswordBody = z.object({ new_password: password }).strict();
