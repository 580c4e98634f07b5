// One edge gateway process for the fault runs: writes (readings, a work-order change) and sync
// cycles in a loop until the parent kills it (SIGKILL). Prints "ready" once open, "readings FIRST N"
// after each committed block of readings, and "at POINT" when it reaches the point it is to be
// killed at (a hook of push or pull, or inside a large write) in cycle CYCLES or later, where it
// then waits for the signal.
import { buildContext } from '../../src/bootstrap.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPasswordHasher } from '../../src/modules/auth/password.ts';
import { createSyncWorker } from '../../sync/worker.ts';
import { TEST_SCRYPT, testConfig } from '../helpers/app.ts';

const [dir, siteArg, url, seedArg, point = 'anytime', cyclesArg = '1'] = process.argv.slice(2);
if (!dir || !siteArg || !url || !seedArg) throw new Error('usage: edge-child DIR SITE URL SEED [POINT CYCLES]');
const site = Number(siteArg);
const cycles = Number(cyclesArg);
let seed = Number(seedArg) % 2 ** 31;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const hang = () =>
  new Promise<void>(() => {
    setInterval(() => {}, 1000);
  });
let cycle = 0;
const ctx = buildContext(testConfig(dir, { SITE_ID: String(site), HQ_DATABASE_URL: url }), silentLogger(), {
  passwords: createPasswordHasher(TEST_SCRYPT, 2),
  processMetrics: false,
});
const worker = createSyncWorker({
  sqlite: ctx.store.sqlite,
  site,
  hq: { url, schema: 'public' },
  intervalMs: 1000,
  now: () => Date.now(),
  log: { info: () => {}, warn: () => {} },
  hooks: async (at) => {
    if (at !== point || cycle < cycles) return;
    process.stdout.write(`at ${at}\n`);
    await hang();
  },
});
const s = ctx.store.sqlite;
const put = s.prepare(
  "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temp', ?, 'C', 'good', NULL, ?, ?)",
);
const readings = (n: number) => {
  const first = ctx.store.commandNow(() => {
    const first = ctx.store.ids.block('machine_readings', n);
    for (let k = 0; k < n; k++) put.run(first + k, random() * 100, Date.now(), Date.now());
    return first;
  });
  process.stdout.write(`readings ${first} ${n}\n`);
};
process.stdout.write('ready\n');
for (cycle = 1; ; cycle++) {
  if (point === 'mid-write' && cycle >= cycles) {
    process.stdout.write('at mid-write\n');
    readings(50_000);
    await hang();
  }
  readings(5 + Math.floor(random() * 50));
  ctx.store.commandNow(() => s.prepare('UPDATE work_orders SET qty = qty + 1 WHERE id IN (SELECT id FROM work_orders ORDER BY random() LIMIT 1)').run());
  await worker.runCycle().catch(() => {});
  process.stdout.write(`cycle ${cycle}\n`);
}
