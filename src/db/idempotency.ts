import type { Database } from 'better-sqlite3';

/** A stored Idempotency-Key: the hash of the request it was used with and the response. */
export interface IdempotencyRecord {
  request_hash: string;
  status: number;
  body: string;
}

/** The idempotency_keys table; keys are scoped per user. */
export interface IdempotencyStore {
  find(userId: number, key: string): IdempotencyRecord | undefined;
  claim(userId: number, key: string, requestHash: string, now: number): void;
  complete(userId: number, key: string, status: number, body: string): void;
  release(userId: number, key: string): void;
}

export function createIdempotencyStore(sqlite: Database): IdempotencyStore {
  const find = sqlite.prepare<[number, string], IdempotencyRecord>('SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = ? AND key = ?');
  const claim = sqlite.prepare("INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, 0, '', ?)");
  const complete = sqlite.prepare('UPDATE idempotency_keys SET status = ?, body = ? WHERE user_id = ? AND key = ?');
  const release = sqlite.prepare('DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND status = 0');
  return {
    find: (userId, key) => find.get(userId, key),
    claim: (userId, key, hash, now) => void claim.run(userId, key, hash, now),
    complete: (userId, key, status, body) => void complete.run(status, body, userId, key),
    release: (userId, key) => void release.run(userId, key),
  };
}
