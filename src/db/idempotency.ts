import type { Database } from 'better-sqlite3';

/** A stored Idempotency-Key: the hash of the request it was used with and the response. */
export interface IdempotencyRecord {
  request_hash: string;
  status: number;
  /** `{"data": ...}` as first answered (empty for 204); the replay adds fresh meta. */
  body: string;
}

/** The idempotency_keys table; keys are scoped per user. */
export interface IdempotencyStore {
  /** The completed record of a key; rows an older build left "in flight" (status 0) count as free. */
  find(userId: number, key: string): IdempotencyRecord | undefined;
  /** Stores a key's response; call inside the transaction of the change it answers. */
  record(userId: number, key: string, requestHash: string, status: number, body: string, now: number): void;
}

export function createIdempotencyStore(sqlite: Database): IdempotencyStore {
  const find = sqlite.prepare<[number, string], IdempotencyRecord>(
    'SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = ? AND key = ? AND status <> 0',
  );
  const record = sqlite.prepare(
    'INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status, body = excluded.body, ' +
      'created_at = excluded.created_at WHERE idempotency_keys.status = 0',
  );
  return {
    find: (userId, key) => find.get(userId, key),
    record: (userId, key, hash, status, body, now) => void record.run(userId, key, hash, status, body, now),
  };
}
