// One edge gateway process for the fault runs: writes (readings, work-order changes) and sync
// cycles in a loop, printing "cycle N" after each, until the parent kills it (SIGKILL).
import { buildContext } from '../../src/bootstrap.ts';
import { silentLogger } from '../../src/logger.ts';
import { createPasswordHasher } from '../../src/modules/auth/password.ts';
import { createSyncWorker } from '../../sync/worker.ts';
import { TEST_SCRYPT, testConfig } from '../helpers/app.ts';

const [dir, siteArg, url, seedArg] = process.argv.slice(2);
if (!dir || !siteArg || !url || !seedArg) throw new Error('usage: edge-child DIR SITE URL SEED');
const site = Number(siteArg);
let seed = Number(seedArg);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
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
});
const s = ctx.store.sqlite;
for (let i = 1; ; i++) {
  ctx.store.commandNow(() => {
    const n = 5 + Math.floor(random() * 50);
    const first = ctx.store.ids.block('machine_readings', n);
    const put = s.prepare(
      "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temp', ?, 'C', 'good', NULL, ?, ?)",
    );
    for (let k = 0; k < n; k++) put.run(first + k, random() * 100, Date.now(), Date.now());
    s.prepare('UPDATE work_orders SET qty = qty + 1 WHERE id IN (SELECT id FROM work_orders ORDER BY random() LIMIT 1)').run();
  });
  await worker.runCycle().catch(() => {});
  process.stdout.write(`cycle ${i}\n`);
}
