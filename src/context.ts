import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Role } from './core/vocabulary.ts';
import type { Store } from './db/store.ts';
import type { EventBus } from './events/bus.ts';
import type { Logger } from './logger.ts';
import type { PasswordHasher } from './modules/auth/password.ts';
import type { SessionCache } from './modules/auth/session-cache.ts';
import type { AuthThrottles } from './modules/auth/throttle.ts';
import type { TokenService } from './modules/auth/tokens.ts';
import type { StatusBoard } from './modules/ops/status-board.ts';
import type { Metrics } from './metrics.ts';
import type { ReadingTypeCatalog } from './modules/machines/reading-types.ts';
import type { ReadingsSink } from './modules/readings/writer.ts';

/** The one context object built in main.ts and handed down; nothing else is global. */
export interface AppContext {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
  bus: EventBus;
  passwords: PasswordHasher;
  tokens: TokenService;
  /** Session and user behind a token, cached without weakening revocation. */
  sessions: SessionCache;
  throttle: AuthThrottles;
  readings: ReadingsSink;
  /** What GET /drivers/status lists: each field device's and outbound publisher's status. */
  statusBoard: StatusBoard;
  /** Display names, units and sampling periods of the configured tags (empty without devices). */
  readingTypes: ReadingTypeCatalog;
  metrics: Metrics;
}

/** Who is acting, as services see it. */
export interface Actor {
  userId: number;
  role: Role;
  requestId?: string;
  clientIp?: string;
}
