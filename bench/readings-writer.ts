import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ReadingInput } from '../src/modules/readings/writer.ts';
import { product } from './product.ts';

const { openStore } = await product<typeof import('../src/db/store.ts')>('src/db/store');
const { silentLogger } = await product<typeof import('../src/logger.ts')>('src/logger');
const { createMetrics } = await product<typeof import('../src/metrics.ts')>('src/metrics');
const { createReadingsWriter } = await product<typeof import('../src/modules/readings/writer.ts')>('src/modules/readings/writer');

/** Readings per second through the batch writer, and through raw batched inserts (the ceiling). */
export function benchReadingsWriter(seconds: number): { writerPerS: number; rawPerS: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-wr-'));
  const store = openStore(path.join(dir, 'w.db'), 9);
  store.sqlite
    .prepare("INSERT INTO machines (id, name, machine_type, status, source, created_at, updated_at) VALUES (1, 'm', 't', 'running', 'modbus', 0, 0)")
    .run();
  const writer = createReadingsWriter(
    { store, logger: silentLogger(), metrics: createMetrics(false), now: Date.now },
    { flushIntervalMs: 100, flushMaxRows: 5000 },
  );
  const chunk: ReadingInput[] = Array.from({ length: 1000 }, (_, i) => ({
    machineId: 1,
    readingType: `r${i % 50}`,
    value: i,
    unit: null,
    quality: 'good',
    reason: null,
    sourceTs: Date.now(),
  }));
  let n = 0;
  let end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    writer.push(chunk, 'bench');
    n += chunk.length;
  }
  writer.flush();
  const writerPerS = n / seconds;

  const insert = store.sqlite.prepare(
    'INSERT INTO machine_readings (machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const tx = store.sqlite.transaction((rows: ReadingInput[]) => {
    for (const r of rows) insert.run(r.machineId, r.readingType, r.value, r.unit, r.quality, r.reason, r.sourceTs, r.sourceTs);
  });
  const big = Array.from({ length: 5 }, () => chunk).flat();
  let raw = 0;
  end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    tx(big);
    raw += big.length;
  }
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { writerPerS, rawPerS: raw / seconds };
}
