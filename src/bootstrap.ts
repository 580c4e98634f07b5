import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext, PasswordHasher } from './context.ts';
import { createFaultReporter } from './db/faults.ts';
import { openStore } from './db/store.ts';
import { createEventBus } from './events/bus.ts';
import type { Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createPasswordHasher } from './modules/auth/password.ts';
import { createSessionCache } from './modules/auth/session-cache.ts';
import { createAuthThrottles } from './modules/auth/throttle.ts';
import { createTokenService } from './modules/auth/tokens.ts';
import { createReadingTypeCatalog } from './modules/machines/reading-types.ts';
import { createStatusBoard } from './modules/ops/status-board.ts';
import { createReadingsWriter } from './modules/readings/writer.ts';

export interface ContextOverrides {
  clock?: Clock;
  passwords?: PasswordHasher;
  /** Skip default process metrics (many contexts in one test process). */
  processMetrics?: boolean;
}

/**
 * Without JWT_SECRET (development only; production refuses in config.ts) a random secret is
 * generated once and kept beside the database, so tokens survive a restart and none is shipped.
 */
function resolveJwtSecret(config: Config, logger: Logger): string {
  if (config.jwt.secret) return config.jwt.secret;
  if (config.databasePath === ':memory:') return randomBytes(48).toString('base64url');
  const file = path.join(path.dirname(config.databasePath), 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  logger.warn({ file }, 'JWT_SECRET is not set: generated one for development; set JWT_SECRET in production');
  return secret;
}

/** Builds the one context object handed down to every part. */
export function buildContext(config: Config, logger: Logger, overrides: ContextOverrides = {}): AppContext {
  const clock = overrides.clock ?? systemClock;
  const metrics = createMetrics(overrides.processMetrics ?? true);
  const auth = config.settings.auth;
  const bus = createEventBus((err) => logger.error({ err }, 'event listener failed'));
  const store = openStore(config.databasePath, config.siteId, {
    publish: bus.publish,
    onHookError: (err) => logger.error({ err }, 'after-commit hook failed'),
    faults: createFaultReporter(logger, metrics.registry),
    writeWaitMs: config.settings.storage.write_wait_ms,
    now: () => clock.now(),
  });
  return {
    config,
    logger,
    clock,
    store,
    bus,
    metrics,
    passwords: overrides.passwords ?? createPasswordHasher(undefined, auth.max_concurrent_hashes),
    tokens: createTokenService(resolveJwtSecret(config, logger), config.jwt.ttlS),
    sessions: createSessionCache(store.sqlite, clock),
    throttle: createAuthThrottles(auth),
    readings: createReadingsWriter(
      { store, logger, metrics, now: () => clock.now(), bus },
      { flushIntervalMs: config.settings.readings.flush_interval_ms, flushMaxRows: config.settings.readings.flush_max_rows },
    ),
    statusBoard: createStatusBoard(),
    readingTypes: createReadingTypeCatalog(),
  };
}
