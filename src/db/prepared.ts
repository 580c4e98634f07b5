import type { Store } from './store.ts';

const perStore = new WeakMap<Store, Map<string, unknown>>();

/**
 * Builds a drizzle prepared query once per store and reuses it: hot read paths skip drizzle's
 * per-call SQL generation. `build` receives the store and returns the `.prepare()`d query.
 */
export function prepared<T>(store: Store, key: string, build: (store: Store) => T): T {
  let map = perStore.get(store);
  if (!map) {
    map = new Map();
    perStore.set(store, map);
  }
  let q = map.get(key) as T | undefined;
  if (q === undefined) {
    q = build(store);
    map.set(key, q);
  }
  return q;
}
