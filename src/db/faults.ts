import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import { AppError, storageFaultCode, unavailable } from '../errors.ts';

/** Turns a storage fault into UNAVAILABLE, counting it by SQLite code and logging its cause. */
export interface FaultReporter {
  /** The client-facing error for err when it is a storage fault (reported), else undefined. */
  report(err: unknown, op: string): AppError | undefined;
}

const LOG_EVERY_MS = 10_000;

/**
 * A full disk fails every request: one log line per fault code every 10 s (with how many were
 * not logged since), and `gateway_storage_faults_total{code}` for every one.
 */
export function createFaultReporter(logger: Logger, registry: Registry, monotonicMs: () => number = () => performance.now()): FaultReporter {
  const counter = new Counter({
    name: 'gateway_storage_faults_total',
    help: 'Storage faults (SQLITE_FULL, SQLITE_BUSY, SQLITE_IOERR...) by SQLite code',
    labelNames: ['code'],
    registers: [registry],
  });
  const log = logger.child({ module: 'storage' });
  const last = new Map<string, { at: number; suppressed: number }>();
  return {
    report(err, op) {
      if (err instanceof AppError) return err.code === 'UNAVAILABLE' ? err : undefined;
      const code = storageFaultCode(err);
      if (!code) return undefined;
      counter.inc({ code });
      const now = monotonicMs();
      const seen = last.get(code);
      if (!seen || now - seen.at >= LOG_EVERY_MS) {
        log.error({ err, code, op, suppressed: seen?.suppressed ?? 0 }, `storage fault ${code}`);
        last.set(code, { at: now, suppressed: 0 });
      } else {
        seen.suppressed++;
      }
      return unavailable();
    },
  };
}

/** Maps without reporting (tools and tests that open a store without a logger). */
export const silentFaults: FaultReporter = {
  report: (err) => {
    if (err instanceof AppError) return err.code === 'UNAVAILABLE' ? err : undefined;
    return storageFaultCode(err) ? unavailable() : undefined;
  },
};
