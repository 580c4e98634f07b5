// Drains an edge database's outbox into HQ in a process of its own, so the test can give it a
// small heap (--max-old-space-size) the way `npm start` does. Prints one JSON line when done:
// the rows acknowledged and the peak heap and RSS it saw. A heap OOM kills it (exit code ≠ 0).
import { openStore } from '../../src/db/store.ts';
import { createHqPool } from '../../sync/hq/pool.ts';
import { pushOnce } from '../../sync/push.ts';
import { enableCaptureGradually } from '../../sync/state.ts';

const [file, siteArg, url] = process.argv.slice(2);
if (!file || !siteArg || !url) throw new Error('usage: backlog-child FILE SITE URL');
const site = Number(siteArg);
const store = openStore(file, site);
const pool = createHqPool({ url, schema: 'public' });
let peakHeap = 0;
let peakRss = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
};
const timer = setInterval(sample, 20);
try {
  const enqueued = await enableCaptureGradually(store.sqlite, () => new Promise((resolve) => setImmediate(resolve)));
  let rows = 0;
  let pushes = 0;
  for (;;) {
    const r = await pushOnce({ sqlite: store.sqlite, pool, site, now: () => Date.now() });
    rows += r.rows;
    pushes++;
    sample();
    if (!r.more) break;
  }
  process.stdout.write(`${JSON.stringify({ enqueued, rows, pushes, peakHeapMb: peakHeap / 2 ** 20, peakRssMb: peakRss / 2 ** 20 })}\n`);
} finally {
  clearInterval(timer);
  await pool.end();
  store.close();
}
