/** Counts failed logins per key in a sliding window; in memory, so a restart forgives. */
export interface LoginThrottle {
  /** Seconds until the key may try again, or 0 when it may try now. */
  retryAfterS(key: string, nowMs: number): number;
  fail(key: string, nowMs: number): void;
  reset(key: string): void;
}

export function createLoginThrottle(maxFailures: number, windowS: number, maxKeys = 50_000): LoginThrottle {
  const windowMs = windowS * 1000;
  const failures = new Map<string, number[]>();

  const recent = (key: string, nowMs: number): number[] => {
    const list = failures.get(key);
    if (!list) return [];
    const kept = list.filter((t) => nowMs - t < windowMs);
    if (kept.length === 0) failures.delete(key);
    else if (kept.length !== list.length) failures.set(key, kept);
    return kept;
  };

  return {
    retryAfterS(key, nowMs) {
      const list = recent(key, nowMs);
      if (list.length < maxFailures) return 0;
      const oldest = list[list.length - maxFailures] ?? nowMs;
      return Math.max(1, Math.ceil((oldest + windowMs - nowMs) / 1000));
    },
    fail(key, nowMs) {
      const list = recent(key, nowMs);
      list.push(nowMs);
      // Bound memory under a spray of random usernames: forget the oldest key.
      if (!failures.has(key) && failures.size >= maxKeys) {
        const oldest = failures.keys().next().value;
        if (oldest !== undefined) failures.delete(oldest);
      }
      failures.set(key, list.slice(-maxFailures));
    },
    reset(key) {
      failures.delete(key);
    },
  };
}
