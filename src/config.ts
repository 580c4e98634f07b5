import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { oeeSettingsSchema } from './core/oee-settings.ts';
import { parseProxyList } from './core/proxy-list.ts';

/** Thrown when configuration is invalid; the message is one line naming the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Values shipped in .env.example or commonly pasted from tutorials; never accepted in production. */
export const SAMPLE_SECRETS = new Set(['change-me-to-a-random-string-of-at-least-32-bytes', 'changeme', 'secret', 'your-256-bit-secret', 'supersecret']);

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, { message: 'must be an integer' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be ≥ ${min}` })
        .max(max, { message: `must be ≤ ${max}` }),
    );

const sizeUnits: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2 };
const byteSize = z
  .string()
  .regex(/^\d+\s*(b|kb|kib|mb|mib)?$/i, { message: 'must be a byte count such as 1048576 or 1mb' })
  .transform((v) => {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(v.trim());
    return Number(m?.[1]) * (sizeUnits[(m?.[2] || 'b').toLowerCase()] ?? 1);
  })
  .pipe(
    z
      .number()
      .int()
      .min(1024, { message: 'must be at least 1kb' })
      .max(64 * 1024 ** 2, { message: 'must be at most 64mb' }),
  );

const timeZone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IANA time zone such as Europe/Berlin' },
);

/** A Sparkplug group, edge node or host id: one topic level, so no / + # (Sparkplug 3.0, topic namespace). */
const sparkplugId = z.string().regex(/^[^/+#\s\p{Cc}]{1,64}$/u, { message: 'must be 1–64 characters without / + # or whitespace' });

/** Flat keys read from the environment (which overrides .env). */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  LEGACY_API_PORT: int(0, 65535).optional(),
  DATABASE_PATH: z.string().min(1).default('./data/gateway.db'),
  SITE_ID: int(1, 1023).optional(),
  PLANT_TZ: timeZone.default('UTC'),
  JWT_SECRET: z.string().optional(),
  JWT_TTL: int(60, 7 * 24 * 3600).default(43200),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FILE: z.string().optional(),
  LOG_ROTATE_SIZE: z
    .string()
    .regex(/^\d+[kmg]$/i, { message: 'must be a size such as 10m' })
    .default('10m'),
  LOG_ROTATE_FREQUENCY: z.enum(['daily', 'hourly', 'none']).default('daily'),
  LOG_ROTATE_KEEP: int(1, 365).default(14),
  CONFIG_DIR: z.string().min(1).default('./config'),
  CORS_ORIGINS: z.string().default(''),
  BODY_LIMIT: byteSize.default(1024 * 1024),
  REGISTRATION_OPEN: bool.default(true),
  ADMIN_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{3,64}$/, { message: 'must be 3–64 characters of A-Z a-z 0-9 . _ -' })
    .default('admin'),
  ADMIN_PASSWORD: z.string().min(12, { message: 'must be at least 12 characters' }).optional(),
  METRICS_PUBLIC: bool.default(true),
  MAX_CONNECTIONS: int(1, 100_000).default(512),
  REQUEST_TIMEOUT: int(1, 600).default(30),
  TRUST_PROXY: bool.default(false),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length === 0 || parseProxyList(list) !== undefined, {
      message: 'must be comma-separated IP addresses or CIDR ranges such as 10.0.0.7,192.168.10.0/24',
    }),
  HQ_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  HQ_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case SQL identifier' })
    .default('public'),
  SYNC_INTERVAL_MS: int(200, 3_600_000).default(5000),
  SYNC_CLOCK_SKEW_LIMIT_MS: int(1000, 86_400_000).default(60_000),
  MQTT_URL: z
    .string()
    .regex(/^mqtts?:\/\/[^/\s]+\/?$/, { message: 'must be an mqtt:// or mqtts:// URL such as mqtt://broker:1883' })
    .optional(),
  MQTT_USERNAME: z.string().max(256).optional(),
  MQTT_PASSWORD: z.string().max(256).optional(),
  MQTT_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 . _ -' })
    .optional(),
  MQTT_TOPIC_PREFIX: z
    .string()
    .regex(/^[^+#\s\p{Cc}]{1,128}$/u, { message: 'must be 1–128 characters without + # or whitespace' })
    .refine((v) => !v.startsWith('/') && !v.endsWith('/') && !v.includes('//'), { message: 'must not start or end with / or contain //' })
    .default('factory'),
  MQTT_CA_FILE: z.string().min(1).optional(),
  MQTT_CERT_FILE: z.string().min(1).optional(),
  MQTT_KEY_FILE: z.string().min(1).optional(),
  MQTT_SPARKPLUG: bool.default(false),
  SPARKPLUG_GROUP_ID: sparkplugId.optional(),
  SPARKPLUG_EDGE_NODE_ID: sparkplugId.optional(),
  SPARKPLUG_PRIMARY_HOST_ID: sparkplugId.optional(),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  HTTP_REDIRECT_PORT: int(1, 65535).optional(),
  STATION_IDLE_SIGNOUT_S: int(30, 3600).default(120),
});

const stageTemplateSchema = z.array(z.string().min(1).max(64)).min(1, { message: 'must list at least one stage name' }).max(50);

const MQTT_DEFAULTS = {
  queue_max: 1_000_000,
  drain_rate_per_s: 5000,
  inflight: 500,
  retain_last_values: false,
  reconnect_initial_ms: 500,
  reconnect_max_ms: 30_000,
};

/** gateway.yaml `mqtt:` (only used when MQTT_URL is set). */
const mqttSettingsSchema = z
  .object({
    /** Messages kept while the broker is away; beyond this the oldest are dropped. */
    queue_max: z.number().int().min(100).max(50_000_000).default(MQTT_DEFAULTS.queue_max),
    /** Messages per second when a backlog drains. */
    drain_rate_per_s: z.number().int().min(1).max(1_000_000).default(MQTT_DEFAULTS.drain_rate_per_s),
    /** QoS 1 messages sent and not yet acknowledged, at most. */
    inflight: z.number().int().min(1).max(65_000).default(MQTT_DEFAULTS.inflight),
    /** Readings also retained on their topic, so a new subscriber sees the last value at once. */
    retain_last_values: z.boolean().default(MQTT_DEFAULTS.retain_last_values),
    reconnect_initial_ms: z.number().int().min(10).max(60_000).default(MQTT_DEFAULTS.reconnect_initial_ms),
    reconnect_max_ms: z.number().int().min(100).max(600_000).default(MQTT_DEFAULTS.reconnect_max_ms),
    /** Gone: MQTT ingest devices are `protocol: mqtt` entries of the devices file. Named so the error says where they went. */
    ingest_file: z.undefined({ error: 'removed: declare MQTT ingest devices with protocol: mqtt in the devices file (devices_file)' }).optional(),
  })
  .strict()
  .default(MQTT_DEFAULTS);

/** Structured settings from CONFIG_DIR/gateway.yaml. */
const fileSchema = z
  .object({
    stage_template: stageTemplateSchema.default(['cutting', 'assembly', 'inspection', 'packing']),
    auth: z
      .object({
        login_max_failures_per_user: z.number().int().min(1).max(1000).default(5),
        login_max_failures_per_ip: z.number().int().min(1).max(10000).default(30),
        login_window_s: z.number().int().min(10).max(86400).default(900),
        register_max_per_ip: z.number().int().min(1).max(10000).default(10),
        register_window_s: z.number().int().min(10).max(86400).default(3600),
        max_concurrent_hashes: z.number().int().min(1).max(16).default(2),
      })
      .strict()
      .default({
        login_max_failures_per_user: 5,
        login_max_failures_per_ip: 30,
        login_window_s: 900,
        register_max_per_ip: 10,
        register_window_s: 3600,
        max_concurrent_hashes: 2,
      }),
    idempotency_ttl_h: z
      .number()
      .int()
      .min(24)
      .max(24 * 30)
      .default(48),
    readings: z
      .object({
        flush_interval_ms: z.number().int().min(5).max(10000).default(100),
        flush_max_rows: z.number().int().min(1).max(100000).default(5000),
        retention_days: z.number().int().min(1).max(3650).default(90),
        heartbeat_s: z.number().int().min(1).max(86400).default(300),
      })
      .strict()
      .default({ flush_interval_ms: 100, flush_max_rows: 5000, retention_days: 90, heartbeat_s: 300 }),
    storage: z
      .object({
        /** How long a write may wait, in total, for a lock held by another connection before 503. */
        write_wait_ms: z.number().int().min(0).max(60_000).default(5000),
      })
      .strict()
      .default({ write_wait_ms: 5000 }),
    devices_file: z.string().min(1).optional(),
    mqtt: mqttSettingsSchema,
    /** Plant calendar, downtime rules, reason codes, ideal cycle times, counter tags (docs/oee.md). */
    oee: oeeSettingsSchema.default(oeeSettingsSchema.parse({})),
  })
  .strict();

export type FileSettings = z.infer<typeof fileSchema>;

/** Everything the process needs, parsed once at start-up. */
export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Second listener speaking the old FastAPI backend's shapes (src/legacy); off when undefined. */
  legacyApiPort: number | undefined;
  databasePath: string;
  siteId: number;
  plantTz: string;
  jwt: { secret: string | undefined; ttlS: number };
  log: {
    level: string;
    file: string | undefined;
    rotateSize: string;
    rotateFrequency: 'daily' | 'hourly' | 'none';
    rotateKeep: number;
  };
  configDir: string;
  corsOrigins: string[];
  bodyLimit: number;
  registrationOpen: boolean;
  admin: { username: string; password: string | undefined };
  metricsPublic: boolean;
  /** Open HTTP connections at most (lowered at start-up to fit the descriptor limit). */
  maxConnections: number;
  /** Seconds a client has to send a whole request (headers: at most 20 of them). */
  requestTimeoutS: number;
  trustProxy: boolean;
  /** Proxies (addresses or CIDR ranges) skipped from the right of X-Forwarded-For. */
  trustedProxies: string[];
  /** HQ PostgreSQL (sync on) or undefined (sync off). */
  hq: { url: string; schema: string } | undefined;
  syncIntervalMs: number;
  /** Wall clock behind the last clock value, or ahead of HQ's, by more than this: reported (docs/sync.md, Clock). */
  syncClockSkewLimitMs: number;
  /** Undefined when MQTT_URL is not set: nothing is queued or published. */
  mqtt: MqttConfig | undefined;
  /** Undefined unless MQTT_SPARKPLUG=true: the Sparkplug B edge node (src/sparkplug). */
  sparkplug: SparkplugConfig | undefined;
  /** PEM files of the HTTPS certificate and key (re-read on SIGHUP); undefined: plain HTTP. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** A plain-HTTP port that only redirects to HTTPS (with TLS only). */
  httpRedirectPort: number | undefined;
  /** Seconds without a page or action after which a station session ends. */
  stationIdleS: number;
  settings: FileSettings;
}

/** Connection settings of the MQTT client (the queue and drain settings are in settings.mqtt). */
export interface MqttConfig {
  url: string;
  username: string | undefined;
  password: string | undefined;
  clientId: string;
  topicPrefix: string;
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
}

function describe(issue: z.core.$ZodIssue, prefix: string): string {
  const key = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return `${key}: ${issue.message}`;
}

/** Reads `.env` (if present) under the environment and returns the merged variables. */
export function readEnv(cwd: string, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

function parseYamlFile(file: string): unknown {
  if (!existsSync(file)) return {};
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Parses and validates configuration; throws ConfigError naming the first bad key. */
export function loadConfig(vars: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const present = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(first ? describe(first, '') : 'invalid configuration');
  }
  const e = parsed.data;
  const configDir = path.resolve(cwd, e.CONFIG_DIR);
  const yamlFile = path.join(configDir, 'gateway.yaml');
  const fileParsed = fileSchema.safeParse(parseYamlFile(yamlFile));
  if (!fileParsed.success) {
    const first = fileParsed.error.issues[0];
    throw new ConfigError(first ? `${yamlFile}: ${describe(first, '')}` : `${yamlFile}: invalid`);
  }
  if (e.TRUSTED_PROXIES.length > 0 && !e.TRUST_PROXY) {
    throw new ConfigError('TRUSTED_PROXIES: only read with TRUST_PROXY=true; set both or neither');
  }
  if (e.NODE_ENV === 'production') {
    if (e.SITE_ID === undefined) throw new ConfigError('SITE_ID: required in production (1–1023, unique per site)');
    checkProductionSecret(e.JWT_SECRET);
  } else if (e.JWT_SECRET !== undefined && Buffer.byteLength(e.JWT_SECRET) < 32) {
    throw new ConfigError('JWT_SECRET: must be at least 32 bytes');
  }
  if (e.LEGACY_API_PORT !== undefined && e.LEGACY_API_PORT !== 0 && e.LEGACY_API_PORT === e.PORT) {
    throw new ConfigError('LEGACY_API_PORT: must differ from PORT');
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    legacyApiPort: e.LEGACY_API_PORT,
    databasePath: e.DATABASE_PATH === ':memory:' ? ':memory:' : path.resolve(cwd, e.DATABASE_PATH),
    siteId: e.SITE_ID ?? 1,
    plantTz: e.PLANT_TZ,
    jwt: { secret: e.JWT_SECRET, ttlS: e.JWT_TTL },
    log: {
      level: e.LOG_LEVEL,
      file: e.LOG_FILE ? path.resolve(cwd, e.LOG_FILE) : undefined,
      rotateSize: e.LOG_ROTATE_SIZE,
      rotateFrequency: e.LOG_ROTATE_FREQUENCY,
      rotateKeep: e.LOG_ROTATE_KEEP,
    },
    configDir,
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    bodyLimit: e.BODY_LIMIT,
    registrationOpen: e.REGISTRATION_OPEN,
    admin: { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD },
    metricsPublic: e.METRICS_PUBLIC,
    maxConnections: e.MAX_CONNECTIONS,
    requestTimeoutS: e.REQUEST_TIMEOUT,
    trustProxy: e.TRUST_PROXY,
    trustedProxies: e.TRUSTED_PROXIES,
    hq: e.HQ_DATABASE_URL ? { url: e.HQ_DATABASE_URL, schema: e.HQ_SCHEMA } : undefined,
    syncIntervalMs: e.SYNC_INTERVAL_MS,
    syncClockSkewLimitMs: e.SYNC_CLOCK_SKEW_LIMIT_MS,
    mqtt: mqttConfig(e, e.SITE_ID ?? 1, cwd),
    sparkplug: sparkplugConfig(e, e.SITE_ID ?? 1),
    tls: tlsConfig(e, cwd),
    httpRedirectPort: e.HTTP_REDIRECT_PORT,
    stationIdleS: e.STATION_IDLE_SIGNOUT_S,
    settings: fileParsed.data,
  };
}

function mqttConfig(e: z.infer<typeof envSchema>, siteId: number, cwd: string): MqttConfig | undefined {
  const tlsFiles = { MQTT_CA_FILE: e.MQTT_CA_FILE, MQTT_CERT_FILE: e.MQTT_CERT_FILE, MQTT_KEY_FILE: e.MQTT_KEY_FILE };
  if (!e.MQTT_URL) {
    const stray = Object.entries(tlsFiles).find(([, v]) => v !== undefined);
    if (stray) throw new ConfigError(`${stray[0]}: only used with MQTT_URL, which is not set`);
    return undefined;
  }
  for (const [key, file] of Object.entries(tlsFiles)) {
    if (file !== undefined && !existsSync(path.resolve(cwd, file))) throw new ConfigError(`${key}: file not found: ${file}`);
  }
  if ((e.MQTT_CERT_FILE === undefined) !== (e.MQTT_KEY_FILE === undefined)) {
    throw new ConfigError(`${e.MQTT_CERT_FILE ? 'MQTT_KEY_FILE' : 'MQTT_CERT_FILE'}: a client certificate needs both MQTT_CERT_FILE and MQTT_KEY_FILE`);
  }
  if (e.MQTT_PASSWORD !== undefined && e.MQTT_USERNAME === undefined) throw new ConfigError('MQTT_USERNAME: required with MQTT_PASSWORD');
  const abs = (f: string | undefined) => (f === undefined ? undefined : path.resolve(cwd, f));
  return {
    url: e.MQTT_URL,
    username: e.MQTT_USERNAME,
    password: e.MQTT_PASSWORD,
    // Stable across restarts: the broker keeps this session (clean: false) and its QoS 1 subscriptions.
    clientId: e.MQTT_CLIENT_ID ?? `gateway-site-${siteId}`,
    topicPrefix: e.MQTT_TOPIC_PREFIX,
    caFile: abs(e.MQTT_CA_FILE),
    certFile: abs(e.MQTT_CERT_FILE),
    keyFile: abs(e.MQTT_KEY_FILE),
  };
}

function tlsConfig(e: z.infer<typeof envSchema>, cwd: string): Config['tls'] {
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    throw new ConfigError(`${e.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}: HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE`);
  }
  if (e.TLS_CERT_FILE === undefined || e.TLS_KEY_FILE === undefined) {
    if (e.HTTP_REDIRECT_PORT !== undefined) throw new ConfigError('HTTP_REDIRECT_PORT: only used with TLS_CERT_FILE and TLS_KEY_FILE, which are not set');
    return undefined;
  }
  if (e.HTTP_REDIRECT_PORT !== undefined && (e.HTTP_REDIRECT_PORT === e.PORT || e.HTTP_REDIRECT_PORT === e.LEGACY_API_PORT)) {
    throw new ConfigError('HTTP_REDIRECT_PORT: must differ from PORT and LEGACY_API_PORT');
  }
  const files = { TLS_CERT_FILE: path.resolve(cwd, e.TLS_CERT_FILE), TLS_KEY_FILE: path.resolve(cwd, e.TLS_KEY_FILE) };
  for (const [key, file] of Object.entries(files)) {
    if (!existsSync(file)) throw new ConfigError(`${key}: file not found: ${file}`);
  }
  return { certFile: files.TLS_CERT_FILE, keyFile: files.TLS_KEY_FILE };
}

/** The Sparkplug B edge node's ids (docs/machine_integration.md, Sparkplug B); its broker is MQTT_URL's. */
export interface SparkplugConfig {
  groupId: string;
  edgeNodeId: string;
  /** A primary host application whose STATE the node honours: data is held while it is offline. */
  primaryHostId: string | undefined;
}

function sparkplugConfig(e: z.infer<typeof envSchema>, siteId: number): SparkplugConfig | undefined {
  if (!e.MQTT_SPARKPLUG) {
    const stray = (['SPARKPLUG_GROUP_ID', 'SPARKPLUG_EDGE_NODE_ID', 'SPARKPLUG_PRIMARY_HOST_ID'] as const).find((k) => e[k] !== undefined);
    if (stray) throw new ConfigError(`${stray}: only used with MQTT_SPARKPLUG=true, which is not set`);
    return undefined;
  }
  if (!e.MQTT_URL) throw new ConfigError('MQTT_SPARKPLUG: needs MQTT_URL (the Sparkplug edge node publishes to that broker)');
  if (e.SPARKPLUG_GROUP_ID === undefined) throw new ConfigError('SPARKPLUG_GROUP_ID: required with MQTT_SPARKPLUG=true (the Sparkplug group, such as plant-1)');
  return { groupId: e.SPARKPLUG_GROUP_ID, edgeNodeId: e.SPARKPLUG_EDGE_NODE_ID ?? `site-${siteId}`, primaryHostId: e.SPARKPLUG_PRIMARY_HOST_ID };
}

function checkProductionSecret(secret: string | undefined): void {
  if (!secret) throw new ConfigError('JWT_SECRET: required in production (at least 32 random bytes)');
  if (Buffer.byteLength(secret) < 32) throw new ConfigError('JWT_SECRET: must be at least 32 bytes in production');
  if (SAMPLE_SECRETS.has(secret) || /^(.)\1+$/.test(secret)) {
    throw new ConfigError('JWT_SECRET: the sample or a trivial value is refused in production; generate one with `openssl rand -base64 48`');
  }
}
