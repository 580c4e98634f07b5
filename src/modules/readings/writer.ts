import type { Logger } from '../../logger.ts';
import type { Store } from '../../db/store.ts';
import type { Metrics } from '../../metrics.ts';
import { AppError, storageError } from '../../errors.ts';

import type { Quality } from '../../../drivers/engine/types.ts';

export type { Quality };

/** One value of one machine, as drivers and the HTTP API hand it over. */
export interface ReadingInput {
  machineId: number;
  readingType: string;
  value: number | null;
  unit: string | null;
  quality: Quality;
  reason: string | null;
  /** When the value was true at the source (device or server timestamp), epoch ms. */
  sourceTs: number;
}

/**
 * The sink every reading goes through. Rows are written in batches: one IMMEDIATE transaction
 * per flush (every flushIntervalMs or flushMaxRows, whichever first), never one per value.
 */
export interface ReadingsSink {
  /** Fire-and-forget for drivers; kept in memory until the next flush. */
  push(readings: ReadingInput[], source: string): void;
  /** Resolves once the readings are committed (group commit with other callers); for the HTTP API. */
  append(readings: ReadingInput[], source: string): Promise<number>;
  flush(): void;
  pending(): number;
  start(): void;
  stop(): void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface WriterOptions {
  flushIntervalMs: number;
  flushMaxRows: number;
  /** Driver readings held while storage fails; the oldest are dropped beyond this. */
  maxBuffered?: number;
}

export function createReadingsWriter(deps: { store: Store; logger: Logger; metrics: Metrics; now: () => number }, opts: WriterOptions): ReadingsSink {
  const { store } = deps;
  const log = deps.logger.child({ module: 'readings' });
  const maxBuffered = opts.maxBuffered ?? 200_000;
  let buffer: Array<{ r: ReadingInput; source: string; awaited: boolean }> = [];
  let waiters: Waiter[] = [];
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;

  const insert = store.sqlite.prepare(
    'INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const latest = store.sqlite.prepare(
    'INSERT INTO machine_latest (machine_id, reading_type, value, unit, quality, source_ts) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (machine_id, reading_type) DO UPDATE SET value = excluded.value, unit = excluded.unit, ' +
      'quality = excluded.quality, source_ts = excluded.source_ts WHERE excluded.source_ts >= machine_latest.source_ts',
  );
  const seen = store.sqlite.prepare('UPDATE machines SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?');

  const writeBatch = (batch: Array<{ r: ReadingInput }>) => {
    const recordedAt = deps.now();
    store.sqlite
      .transaction(() => {
        let id = store.ids.block('machine_readings', batch.length);
        const newest = new Map<number, number>();
        for (const { r } of batch) {
          insert.run(id++, r.machineId, r.readingType, r.value, r.unit, r.quality, r.reason, r.sourceTs, recordedAt);
          latest.run(r.machineId, r.readingType, r.value, r.unit, r.quality, r.sourceTs);
          newest.set(r.machineId, Math.max(newest.get(r.machineId) ?? 0, r.sourceTs));
        }
        for (const [machineId, ts] of newest) seen.run(ts, machineId);
      })
      .immediate();
  };

  const flush = () => {
    if (immediate) clearImmediate(immediate);
    immediate = undefined;
    if (buffer.length === 0) return;
    const batch = buffer;
    const done = waiters;
    buffer = [];
    waiters = [];
    try {
      writeBatch(batch);
      const bySource = new Map<string, number>();
      for (const b of batch) bySource.set(b.source, (bySource.get(b.source) ?? 0) + 1);
      for (const [source, n] of bySource) deps.metrics.readingsStored.inc({ source }, n);
      for (const w of done) w.resolve();
    } catch (err) {
      const mapped = storageError(err) ?? err;
      log.error({ err, rows: batch.length }, 'readings flush failed');
      for (const w of done) w.reject(mapped instanceof AppError ? mapped : err);
      // Driver readings (no waiter) stay buffered for the next flush; HTTP callers got their error.
      const kept = batch.filter((b) => !b.awaited);
      buffer = kept.concat(buffer);
      if (buffer.length > maxBuffered) {
        const dropped = buffer.length - maxBuffered;
        buffer = buffer.slice(dropped);
        deps.metrics.readingsDropped.inc({ reason: 'buffer_full' }, dropped);
        log.warn({ dropped }, 'readings buffer full while storage fails; oldest dropped');
      }
    }
  };

  const enqueue = (readings: ReadingInput[], source: string, awaited: boolean) => {
    for (const r of readings) buffer.push({ r, source, awaited });
    if (buffer.length >= opts.flushMaxRows) flush();
  };

  return {
    push: (readings, source) => enqueue(readings, source, false),
    append: (readings, source) =>
      new Promise<number>((resolve, reject) => {
        waiters.push({ resolve: () => resolve(readings.length), reject });
        enqueue(readings, source, true);
        // A waiting client should not sit out the timer: flush once this turn's requests are in.
        if (waiters.length > 0) immediate ??= setImmediate(flush);
      }),
    flush,
    pending: () => buffer.length,
    start: () => {
      timer ??= setInterval(flush, opts.flushIntervalMs);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      flush();
    },
  };
}
