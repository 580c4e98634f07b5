import type { DevicesConfig } from '../drivers/config.ts';
import type { DeviceStatus as DriverDeviceStatus } from '../drivers/engine/types.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Role } from './core/vocabulary.ts';
import type { Tx } from './db/command.ts';
import type { Store } from './db/store.ts';
import type { EventBus, LatestReading } from './events/bus.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

// The context names what each service offers, not how a module builds it: the interfaces below
// are implemented in src/modules (created in src/bootstrap.ts). Importing the modules here, even
// for their types, made nine folders one import cycle through this file (issue 25); now the
// context depends only on layers below the modules (test/import-cycles.test.ts).

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

/**
 * Hashes and verifies passwords off the event loop, at most `maxConcurrent` at a time.
 * Verifications (logins) are served before queued hashes (registrations, password changes).
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** True when a verified hash should be replaced by a fresh one (bcrypt from the old backend, weaker scrypt); optional for test doubles. */
  needsRehash?(stored: string): boolean;
  /** Burns the same work as a verify, for unknown users (equal timing). */
  verifyDummy(password: string): Promise<false>;
}

/** Claims the gateway needs from a verified access token. */
export interface TokenClaims {
  userId: number;
  sessionId: string;
  expiresAt: number;
}

/** Issues and verifies access tokens (HS256, src/modules/auth/tokens.ts). */
export interface TokenService {
  readonly ttlS: number;
  issue(userId: number, nowMs: number): Promise<{ token: string; sessionId: string; expiresAt: number }>;
  /** Returns the claims, or undefined for any token that is not ours, valid and current. */
  verify(token: string, nowMs: number): Promise<TokenClaims | undefined>;
  /**
   * The claims of a token verified before and not yet expired, without a promise (the common case
   * of a request); undefined when `verify` must decide.
   */
  verified(token: string, nowMs: number): TokenClaims | undefined;
}

/** The session and user behind a token, as read from the database. */
export interface SessionRow {
  id: number;
  username: string;
  role: Role;
  active: number;
  created_at: number;
  revoked_at: number | null;
  expires_at: number;
  /** The station the session was opened on (ADR 0018), or null. */
  station_id: number | null;
}

/** Session lookups behind every authenticated request. */
export interface SessionCache {
  get(sessionId: string): SessionRow | undefined;
}

/** Counts attempts per key in a sliding window; in memory, so a restart forgives. */
export interface AttemptThrottle {
  /**
   * Counts an attempt now, before any work is done for it, so that concurrent requests cannot
   * all be checked before the first failure is recorded. Returns 0 when the attempt is admitted
   * (and counted), or the seconds until the key may try again (nothing counted).
   */
  take(key: string, nowMs: number): number;
  /** Takes back one attempt counted at `atMs` (it turned out to be legitimate). */
  release(key: string, atMs: number): void;
  /** Forgets every attempt of the key. */
  reset(key: string): void;
}

/** Login attempts per username and per address; public registrations per address. */
export interface AuthThrottles {
  loginByUser: AttemptThrottle;
  loginByIp: AttemptThrottle;
  registerByIp: AttemptThrottle;
}

/**
 * The sink every reading goes through. Driver readings are written in batches: one command per
 * flush (every flushIntervalMs or flushMaxRows, whichever first), never one per value.
 */
export interface ReadingsSink {
  /** Fire-and-forget for drivers; kept in memory until the next flush. */
  push(readings: LatestReading[], source: string): void;
  /** Writes readings inside the caller's command (the HTTP API: group commit with other requests). */
  write(tx: Tx, readings: LatestReading[], source: string): number;
  flush(): void;
  start(): void;
  stop(): void;
}

/**
 * An outbound queue's status (the MQTT publisher, the Sparkplug edge node). GET /drivers/status
 * lists it beside the field devices with the same fields (API.md), so it carries them, plus its
 * queue figures.
 */
export type PublisherStatusEntry = DriverDeviceStatus & { queue_depth: number; dropped: number; skipped: number };

/** One entry of GET /drivers/status, saying what it is: a field device or an outbound publisher. */
export type StatusEntry = (DriverDeviceStatus & { kind: 'device' }) | (PublisherStatusEntry & { kind: 'publisher' });

/**
 * The live status of everything the gateway keeps a connection for: a reader per field device
 * (added by the drivers at start-up) and per outbound publisher, each read when asked
 * (created by src/modules/ops/status-board.ts).
 */
export interface StatusBoard {
  /** Every entry, read now, in the order they were added. */
  entries(): StatusEntry[];
  addDevice(read: () => DriverDeviceStatus): void;
  addPublisher(read: () => PublisherStatusEntry): void;
  /** Forgets the field devices (their drivers stopped); publishers stay. */
  clearDevices(): void;
}

/** What the device config says about one reading type of one machine. */
export interface ReadingTypeInfo {
  /** The tag's display_name, if it has one. */
  displayName: string | undefined;
  /** The tag's unit, if configured. */
  unit: string | undefined;
  /** How often the tag is sampled: OPC UA sampling_interval_ms, else the tag's or device's poll_interval_ms. */
  periodMs: number | undefined;
}

/** Reading types as the configured tags describe them, by machine id: for people and charts. */
export interface ReadingTypeCatalog {
  describe(machineId: number, readingType: string): ReadingTypeInfo | undefined;
  /** Takes the tags of a validated device config and its machines' ids (once at start-up, by the drivers). */
  load(cfg: DevicesConfig, machineIds: ReadonlyMap<string, number>): void;
}
