import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type AccessLine, accessLogger, REDACT_PATHS } from '../src/logger.ts';

/** A child logger as the gateway builds it (base, redaction, a fixed time), writing into `lines`. */
function logger(lines: string[], extra: pino.LoggerOptions = {}) {
  const stream = { write: (s: string) => lines.push(s) };
  return pino(
    {
      level: 'info',
      base: { site: '7' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: () => ',"time":"2026-12-07T22:00:00.000Z"',
      ...extra,
    },
    stream,
  ).child({ module: 'http' });
}

const line: AccessLine = {
  request_id: 'b3c1f7a2-1111-2222-3333-444455556666',
  method: 'GET',
  path: '/workorders/"odd"\\path/ü',
  status: 200,
  duration_ms: 0.12,
  user_id: 5,
  client_ip: '::ffff:127.0.0.1',
};

// The request line is what operators grep and ship; the hand-written one must be pino's, byte for byte.
describe('access line', () => {
  it('is the line pino writes for the same fields, at info and error', () => {
    const ours: string[] = [];
    const theirs: string[] = [];
    const write = accessLogger(logger(ours));
    const log = logger(theirs);
    write('info', line, 'request');
    log.info(line, 'request');
    write('error', { ...line, status: 503 }, 'request');
    log.error({ ...line, status: 503 }, 'request');
    write('info', { ...line, user_id: undefined, client_ip: undefined, status: 499 }, 'client closed request');
    log.info({ ...line, user_id: undefined, client_ip: undefined, status: 499 }, 'client closed request');
    expect(ours).toEqual(theirs);
    expect(JSON.parse(ours[0] as string)).toMatchObject({ level: 30, site: '7', module: 'http', path: line.path, msg: 'request' });
  });

  it('writes nothing below the level, as pino', () => {
    const ours: string[] = [];
    accessLogger(logger(ours, { level: 'warn' }))('info', line, 'request');
    expect(ours).toEqual([]);
  });

  it('leaves a logger with a mixin to pino', () => {
    const ours: string[] = [];
    accessLogger(logger(ours, { mixin: () => ({ extra: 1 }) }))('info', line, 'request');
    expect(JSON.parse(ours[0] as string)).toMatchObject({ extra: 1, request_id: line.request_id });
  });
});
