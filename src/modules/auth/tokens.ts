import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { TokenClaims, TokenService } from '../../context.ts';

export const TOKEN_ISSUER = 'edge-gateway';
export const TOKEN_AUDIENCE = 'edge-gateway-api';
const CACHE_MAX = 10_000;

/**
 * HS256 with the algorithm pinned and exp, iat, sub, jti, iss and aud required. Verified tokens
 * are cached until they expire (the signature cannot change); revocation is checked per request
 * against the sessions table, not here.
 */
export function createTokenService(secret: string, ttlS: number): TokenService {
  const key = new TextEncoder().encode(secret);
  const cache = new Map<string, TokenClaims>();

  const issue = async (userId: number, nowMs: number) => {
    const sessionId = randomUUID();
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + ttlS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setJti(sessionId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .sign(key);
    return { token, sessionId, expiresAt: exp * 1000 };
  };

  const verified = (token: string, nowMs: number): TokenClaims | undefined => {
    const cached = cache.get(token);
    return cached && cached.expiresAt > nowMs ? cached : undefined;
  };

  const verify = async (token: string, nowMs: number): Promise<TokenClaims | undefined> => {
    const cached = cache.get(token);
    if (cached) {
      if (cached.expiresAt > nowMs) return cached;
      cache.delete(token);
      return undefined;
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        currentDate: new Date(nowMs),
      });
      const userId = Number(payload.sub);
      if (!Number.isSafeInteger(userId) || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
        return undefined;
      }
      const claims = { userId, sessionId: payload.jti, expiresAt: payload.exp * 1000 };
      if (cache.size >= CACHE_MAX) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(token, claims);
      return claims;
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof TypeError) return undefined;
      throw err;
    }
  };

  return { ttlS, issue, verify, verified };
}
