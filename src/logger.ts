import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { isoNow } from './core/iso.ts';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line. Exact paths, no wildcards: wildcard redaction walks
 * every logged object and cost a quarter of the request rate (the request line is logged per request).
 */
export const REDACT_PATHS = [
  'password',
  'new_password',
  'current_password',
  'access_token',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'body.password',
  'body.new_password',
  'body.current_password',
  'secret',
  'jwt_secret',
  'password_hash',
  'user.password_hash',
  'config.jwt.secret',
  'config.admin.password',
];

/** Bytes of log lines gathered before one write to stdout. */
const STDOUT_BLOCK = 4096;
/** Longest a line waits for its block to fill before it is written anyway. */
const STDOUT_FLUSH_MS = 250;

/**
 * Builds the root logger: JSON lines to stdout (pretty in a development terminal) and,
 * when LOG_FILE is set, also to a rotating file.
 */
export function createLogger(config: Config, opts: { stdout?: boolean } = {}): Logger {
  const targets: pino.TransportTargetOptions[] = [];
  const level = config.log.level;
  if (opts.stdout !== false) {
    if (config.env === 'development' && process.stdout.isTTY) {
      targets.push({ target: 'pino-pretty', level, options: { colorize: true, translateTime: 'SYS:standard' } });
    } else {
      targets.push({ target: 'pino/file', level, options: { destination: 1 } });
    }
  }
  if (config.log.file) {
    targets.push({
      target: 'pino-roll',
      level,
      options: {
        file: config.log.file,
        size: config.log.rotateSize,
        ...(config.log.rotateFrequency === 'none' ? {} : { frequency: config.log.rotateFrequency }),
        limit: { count: config.log.rotateKeep },
        mkdir: true,
      },
    });
  }
  const base = { site: config.siteId };
  const options: pino.LoggerOptions = {
    level,
    base,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // pino.stdTimeFunctions.isoTime, formatted once per millisecond (one request line each).
    timestamp: () => `,"time":"${isoNow()}"`,
  };
  if (targets.length === 0) return pino({ ...options, enabled: false });
  // A single stdout JSON target needs no worker thread. Lines are written in blocks of at least
  // STDOUT_BLOCK bytes or every STDOUT_FLUSH_MS: one write per request line cost a thread-pool round
  // trip per request (docs/benchmarks.md). pino flushes what is left when the process exits.
  if (targets.length === 1 && targets[0]?.target === 'pino/file') {
    return pino(options, pino.destination({ dest: 1, sync: false, minLength: STDOUT_BLOCK, periodicFlush: STDOUT_FLUSH_MS }));
  }
  return pino(options, pino.transport({ targets }));
}

/** A logger that discards everything (tests, CLI commands that print their own output). */
export function silentLogger(): Logger {
  return pino({ enabled: false });
}
