import type { Tx } from '../../db/command.ts';
import type { Store } from '../../db/store.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../metrics.ts';
import type { EventBus, LatestReading } from '../../events/bus.ts';
import { publishStored } from './stored.ts';
import type { ReadingsSink } from '../../context.ts';

/** One value of one machine, as drivers and the HTTP API hand it over (the bus carries the same shape). */
export type ReadingInput = LatestReading;

export interface WriterOptions {
  flushIntervalMs: number;
  flushMaxRows: number;
  /** Driver readings held while storage fails; the oldest are dropped beyond this. */
  maxBuffered?: number;
}

/** Readings per multi-row INSERT (9 parameters each, well under SQLite's limit of 32,766). */
const ROWS_PER_STATEMENT = 50;

export function createReadingsWriter(
  deps: { store: Store; logger: Logger; metrics: Metrics; now: () => number; bus?: Pick<EventBus, 'publishReadings' | 'hasReadingsListeners'> },
  opts: WriterOptions,
): ReadingsSink {
  const { store } = deps;
  const log = deps.logger.child({ module: 'readings' });
  const maxBuffered = opts.maxBuffered ?? 200_000;
  let buffer: Array<{ r: ReadingInput; source: string }> = [];
  let timer: NodeJS.Timeout | undefined;

  const readingColumns = '(id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at)';
  const latestColumns = '(machine_id, reading_type, value, unit, quality, source_ts)';
  const latestUpsert =
    'ON CONFLICT (machine_id, reading_type) DO UPDATE SET value = excluded.value, unit = excluded.unit, ' +
    'quality = excluded.quality, source_ts = excluded.source_ts WHERE excluded.source_ts >= machine_latest.source_ts';
  const values = (params: number, rows: number) =>
    Array(rows)
      .fill(`(${Array(params).fill('?').join(', ')})`)
      .join(', ');
  // Rows go in statements of ROWS_PER_STATEMENT (the rest one by one): a statement per reading cost
  // more in binding and VDBE start-up than the insert itself (docs/benchmarks.md). Rows within one
  // statement are inserted and upserted in order, exactly as one statement per row did.
  const insert = store.sqlite.prepare(`INSERT INTO machine_readings ${readingColumns} VALUES ${values(9, 1)}`);
  const insertMany = store.sqlite.prepare(`INSERT INTO machine_readings ${readingColumns} VALUES ${values(9, ROWS_PER_STATEMENT)}`);
  const latest = store.sqlite.prepare(`INSERT INTO machine_latest ${latestColumns} VALUES ${values(6, 1)} ${latestUpsert}`);
  const latestMany = store.sqlite.prepare(`INSERT INTO machine_latest ${latestColumns} VALUES ${values(6, ROWS_PER_STATEMENT)} ${latestUpsert}`);

  /** Inserts rows and keeps machine_latest and last_seen_at; runs inside a command. */
  const writeRows = (tx: Tx, batch: Array<{ r: ReadingInput; source: string }>) => {
    const recordedAt = deps.now();
    let id = store.ids.block('machine_readings', batch.length);
    const newest = new Map<number, number>();
    const bySource = new Map<string, number>();
    const whole = batch.length - (batch.length % ROWS_PER_STATEMENT);
    const readingParams: unknown[] = [];
    const latestParams: unknown[] = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i];
      if (!entry) continue;
      const { r, source } = entry;
      if (i < whole) {
        readingParams.push(id++, r.machineId, r.readingType, r.value, r.unit, r.quality, r.reason, r.sourceTs, recordedAt);
        latestParams.push(r.machineId, r.readingType, r.value, r.unit, r.quality, r.sourceTs);
        if (readingParams.length === 9 * ROWS_PER_STATEMENT) {
          insertMany.run(readingParams);
          latestMany.run(latestParams);
          readingParams.length = 0;
          latestParams.length = 0;
        }
      } else {
        insert.run(id++, r.machineId, r.readingType, r.value, r.unit, r.quality, r.reason, r.sourceTs, recordedAt);
        latest.run(r.machineId, r.readingType, r.value, r.unit, r.quality, r.sourceTs);
      }
      newest.set(r.machineId, Math.max(newest.get(r.machineId) ?? 0, r.sourceTs));
      bySource.set(source, (bySource.get(source) ?? 0) + 1);
    }
    for (const [machineId, ts] of newest) tx.machines.seen(machineId, ts);
    tx.afterCommit(() => {
      for (const [source, n] of bySource) deps.metrics.readingsStored.inc({ source }, n);
    });
    // Live consoles: one bus message per committed batch (never per reading), after the commit.
    tx.afterCommit(() => publishStored(deps.bus, batch));
  };

  const flush = () => {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    try {
      store.commandNow((tx) => writeRows(tx, batch));
    } catch (err) {
      // Storage faults are logged (rate-limited) and counted by the store; anything else here.
      if (!(err instanceof AppError && err.code === 'UNAVAILABLE')) log.error({ err, rows: batch.length }, 'readings flush failed');
      // Driver readings stay buffered for the next flush (a lock or a full disk may pass).
      buffer = batch.concat(buffer);
      if (buffer.length > maxBuffered) {
        const dropped = buffer.length - maxBuffered;
        buffer = buffer.slice(dropped);
        deps.metrics.readingsDropped.inc({ reason: 'buffer_full' }, dropped);
        log.warn({ dropped }, 'readings buffer full while storage fails; oldest dropped');
      }
    }
  };

  return {
    push: (readings, source) => {
      for (const r of readings) buffer.push({ r, source });
      if (buffer.length >= opts.flushMaxRows) flush();
    },
    write: (tx, readings, source) => {
      writeRows(
        tx,
        readings.map((r) => ({ r, source })),
      );
      return readings.length;
    },
    flush,
    start: () => {
      timer ??= setInterval(flush, opts.flushIntervalMs);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      flush();
      // Storage still failing at shutdown: what is left cannot be kept, so it is counted and said.
      if (buffer.length > 0) {
        deps.metrics.readingsDropped.inc({ reason: 'shutdown' }, buffer.length);
        log.error({ dropped: buffer.length }, 'readings not stored at shutdown: storage failed');
        buffer = [];
      }
    },
  };
}
