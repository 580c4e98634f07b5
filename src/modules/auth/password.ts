import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { PasswordHasher } from '../../context.ts';

/** scrypt cost parameters; stored inside each hash so they can be raised later. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's second scrypt profile (N=2^15, r=8, p=3): 32 MiB per hash, kind to a small edge box. */
export const OWASP_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 3 };

const KEY_LEN = 32;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LEN, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Who waits for the hasher: a login the user is waiting for, or background work such as a sign-up. */
export type HashPriority = 'login' | 'background';

/**
 * A counting semaphore with two queues: scrypt is memory-hard, so a storm must queue, not swap;
 * and a burst of registrations (or password changes) must not delay the logins queued behind it.
 */
function createLimiter(max: number) {
  let active = 0;
  const waiting: Record<HashPriority, Array<() => void>> = { login: [], background: [] };
  const next = () => (waiting.login.shift() ?? waiting.background.shift())?.();
  return async <T>(priority: HashPriority, task: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting[priority].push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      next();
    }
  };
}

function encode(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function decode(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return undefined;
  return { params: { N, r, p }, salt: Buffer.from(parts[4] ?? '', 'base64'), key: Buffer.from(parts[5] ?? '', 'base64') };
}

export function createPasswordHasher(params: ScryptParams = OWASP_SCRYPT, maxConcurrent = 2): PasswordHasher {
  const limit = createLimiter(maxConcurrent);
  const dummySalt = randomBytes(16);
  const hash = (password: string) =>
    limit('background', async () => {
      const salt = randomBytes(16);
      return encode(params, salt, await derive(password, salt, params));
    });
  const verify = (password: string, stored: string) =>
    limit('login', async () => {
      // passlib bcrypt hashes imported from the FastAPI backend (gateway import-legacy).
      if (BCRYPT.test(stored)) return bcrypt.compare(password, stored);
      const parsed = decode(stored);
      if (!parsed) return false;
      const key = await derive(password, parsed.salt, parsed.params);
      return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
    });
  const verifyDummy = (password: string) =>
    limit('login', async () => {
      await derive(password, dummySalt, params);
      return false as const;
    });
  const needsRehash = (stored: string) => {
    const parsed = decode(stored);
    return !parsed || parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
  };
  return { hash, verify, needsRehash, verifyDummy };
}

/** A random password for generated accounts: 18 bytes, base64url (24 characters). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
