import { AppError } from '../../errors.ts';
import type { AttemptThrottle, AuthThrottles } from '../../context.ts';

export function createAttemptThrottle(maxAttempts: number, windowS: number, maxKeys = 50_000): AttemptThrottle {
  const windowMs = windowS * 1000;
  const attempts = new Map<string, number[]>();

  const recent = (key: string, nowMs: number): number[] => {
    const list = attempts.get(key);
    if (!list) return [];
    const kept = list.filter((t) => nowMs - t < windowMs);
    if (kept.length === 0) attempts.delete(key);
    else if (kept.length !== list.length) attempts.set(key, kept);
    return kept;
  };

  return {
    take(key, nowMs) {
      const list = recent(key, nowMs);
      if (list.length >= maxAttempts) {
        const oldest = list[list.length - maxAttempts] ?? nowMs;
        return Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000));
      }
      // Bound memory under a spray of random usernames: forget the oldest key.
      if (!attempts.has(key) && attempts.size >= maxKeys) {
        const oldest = attempts.keys().next().value;
        if (oldest !== undefined) attempts.delete(oldest);
      }
      list.push(nowMs);
      attempts.set(key, list);
      return 0;
    },
    release(key, atMs) {
      const list = attempts.get(key);
      const at = list?.lastIndexOf(atMs) ?? -1;
      if (!list || at < 0) return;
      list.splice(at, 1);
      if (list.length === 0) attempts.delete(key);
    },
    reset(key) {
      attempts.delete(key);
    },
  };
}

/** The `auth` throttle settings of gateway.yaml. */
export interface ThrottleSettings {
  login_max_failures_per_user: number;
  login_max_failures_per_ip: number;
  login_window_s: number;
  register_max_per_ip: number;
  register_window_s: number;
}

export function createAuthThrottles(s: ThrottleSettings): AuthThrottles {
  return {
    loginByUser: createAttemptThrottle(s.login_max_failures_per_user, s.login_window_s),
    loginByIp: createAttemptThrottle(s.login_max_failures_per_ip, s.login_window_s),
    registerByIp: createAttemptThrottle(s.register_max_per_ip, s.register_window_s),
  };
}

const rateLimited = (message: string, waitS: number) => new AppError('RATE_LIMITED', message, undefined, waitS);

/**
 * Admits a login attempt (429 otherwise), counted per username and per address before the
 * password is checked. A success takes its attempt back: the user's failures are forgiven and a
 * terminal shared by a whole shift does not run out of logins.
 */
export function admitLogin(t: AuthThrottles, username: string, clientIp: string, nowMs: number): { succeeded(): void } {
  const userKey = username.toLowerCase();
  const userWait = t.loginByUser.take(userKey, nowMs);
  if (userWait > 0) throw rateLimited('too many failed logins; try again later', userWait);
  const ipWait = t.loginByIp.take(clientIp, nowMs);
  if (ipWait > 0) {
    t.loginByUser.release(userKey, nowMs);
    throw rateLimited('too many failed logins; try again later', ipWait);
  }
  return {
    succeeded() {
      t.loginByUser.reset(userKey);
      t.loginByIp.release(clientIp, nowMs);
    },
  };
}

/** Admits a public registration from this address (429 otherwise), counted before the hash. */
export function admitRegistration(t: AuthThrottles, clientIp: string, nowMs: number): void {
  const wait = t.registerByIp.take(clientIp, nowMs);
  if (wait > 0) throw rateLimited('too many registrations from this address; try again later', wait);
}
