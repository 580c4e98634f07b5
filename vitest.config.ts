import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The randomised sync fault runs hold HQ transactions open, restart connections and revoke grants
 * on the shared PostgreSQL on purpose; a transaction open anywhere on the server holds every
 * pull back (docs/sync.md). So they run as a group of their own after every other file, instead
 * of making the other suites' pulls wait.
 */
const FAULT_RUNS = 'test/sync/faults.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/helpers/build-dist.ts'],
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'drivers/**/*.ts', 'sync/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
    projects: [
      { extends: true, test: { name: 'gateway', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, FAULT_RUNS] } },
      { extends: true, test: { name: 'sync-faults', include: [FAULT_RUNS], sequence: { groupOrder: 1 } } },
    ],
  },
});
