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
  // Speed-up "block-written stdout" (issue 7): a single stdout JSON target needs no worker thread,
  // and lines are written in blocks of at least STDOUT_BLOCK bytes or every STDOUT_FLUSH_MS. One
  // write per request line was a thread-pool round trip per request, 7% of a small read's CPU
  // profile (docs/benchmarks.md, "Issue 7"); larger blocks or a synchronous write changed nothing
  // further (issue 24). pino flushes what is left when the process exits.
  if (targets.length === 1 && targets[0]?.target === 'pino/file') {
    return pino(options, pino.destination({ dest: 1, sync: false, minLength: STDOUT_BLOCK, periodicFlush: STDOUT_FLUSH_MS }));
  }
  return pino(options, pino.transport({ targets }));
}

/** A logger that discards everything (tests, CLI commands that print their own output). */
export function silentLogger(): Logger {
  return pino({ enabled: false });
}

/** The fields of the one summary line per request (request-context.ts). */
export interface AccessLine {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  user_id: number | undefined;
  client_ip: string | undefined;
}

/** pino's internals the access line reads (pino.symbols, documented for extensions). */
interface PinoInternals {
  lsCache: Record<number, string>;
  time: () => string;
  chindings: string;
  end: string;
  stream: { write(line: string): unknown; [key: symbol]: unknown };
}

/**
 * Speed-up "hand-written access line" (issue 24): writes the request summary line as pino would
 * (its level prefix, `time`, the logger's bindings, the fields, `msg`, its line end, to its stream),
 * concatenated in one template instead of pino's generic walk over the object's keys with a
 * stringifier per value: 4 µs against 18 µs per line in a micro test on the loaded VM, and the
 * whole line was ~15% of GET /auth/me's CPU (docs/benchmarks.md, issue 24). None of its fields is
 * a redacted path. A logger with a mixin, a log formatter, a write hook or a stream that needs
 * pino's metadata (multistream) gets the plain `logger[level](line, msg)` instead.
 * test/access-line.test.ts checks the bytes against pino's own line.
 */
export function accessLogger(logger: Logger): (level: 'info' | 'error', line: AccessLine, msg: string) => void {
  const plain = (level: 'info' | 'error', line: AccessLine, msg: string) => logger[level](line, msg);
  const s = pino.symbols;
  const own = logger as unknown as Record<symbol, unknown>;
  const hooks = own[s.hooksSym] as { streamWrite?: unknown } | undefined;
  const formatters = own[s.formattersSym] as { log?: unknown } | undefined;
  const stream = own[s.streamSym] as PinoInternals['stream'] | undefined;
  if (own[s.mixinSym] || hooks?.streamWrite || formatters?.log || !stream || stream[s.needsMetadataGsym] === true) return plain;
  const p: PinoInternals = {
    lsCache: own[s.lsCacheSym] as PinoInternals['lsCache'],
    time: own[s.timeSym] as PinoInternals['time'],
    chindings: own[s.chindingsSym] as string,
    end: own[s.endSym] as string,
    stream,
  };
  if (typeof p.time !== 'function' || typeof p.chindings !== 'string' || typeof p.end !== 'string' || typeof p.lsCache !== 'object') return plain;
  return (level, line, msg) => {
    if (!logger.isLevelEnabled(level)) return;
    const prefix = p.lsCache[logger.levels.values[level] as number];
    if (prefix === undefined) return plain(level, line, msg);
    const user = line.user_id === undefined ? '' : `,"user_id":${line.user_id}`;
    const ip = line.client_ip === undefined ? '' : `,"client_ip":${JSON.stringify(line.client_ip)}`;
    p.stream.write(
      `${prefix}${p.time()}${p.chindings},"request_id":${JSON.stringify(line.request_id)},"method":${JSON.stringify(line.method)},"path":${JSON.stringify(line.path)},"status":${line.status},"duration_ms":${line.duration_ms}${user}${ip},"msg":${JSON.stringify(msg)}${p.end}`,
    );
  };
}
