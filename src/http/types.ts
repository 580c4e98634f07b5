import type { Role } from '../core/vocabulary.ts';

/** The authenticated user of a request, read fresh from the database on every request. */
export interface AuthUser {
  id: number;
  username: string;
  role: Role;
  active: boolean;
  created_at: number;
  sessionId: string;
}

/** A new Idempotency-Key of this request; the route's command stores the answer under it. */
export interface IdempotencyClaim {
  userId: number;
  key: string;
  hash: string;
}

/** Typed per-request context of the Hono app. */
export interface HttpEnv {
  Variables: {
    requestId: string;
    clientIp: string;
    user: AuthUser;
    idempotency: IdempotencyClaim | undefined;
  };
}
