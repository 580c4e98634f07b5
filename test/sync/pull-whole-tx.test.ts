import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHqPool } from '../../sync/hq/pool.ts';
import { pullOnce } from '../../sync/pull.ts';
import { type Edge, HQ_START_TIMEOUT, type Hq, hqRows, startEdge, startHq } from './fixture.ts';

// The pull reads HQ's change log in pages; a page must never end inside an HQ transaction, or the
// edge shows a work order with part of its stages until the next page arrives.

let hq: Hq;
let edge: Edge;
let pool: pg.Pool;
const SITE = 6;

beforeAll(async () => {
  hq = await startHq();
  const url = await hq.addSite(SITE);
  edge = startEdge(SITE, url);
  pool = createHqPool({ url, schema: 'public', max: 1 });
  // Everything the site already has (its users), so the pages below hold only the test's rows.
  await edge.sync.runCycle();
}, HQ_START_TIMEOUT);
afterAll(async () => {
  await pool?.end();
  await edge?.close();
  await hq?.close();
});

const localStages = (wo: number) =>
  (edge.gw.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM work_order_stages WHERE work_order_id = ?').get(wo) as { n: number }).n;

describe('pull pages', () => {
  it('apply an HQ transaction that spans several pages whole, in one edge transaction', async () => {
    const client = await hq.owner.connect();
    let wo: number;
    try {
      await client.query('BEGIN');
      const res = await client.query<{ id: string }>(
        "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES ($1, 'BIG', 'L', 1, now(), now() + interval '8 hours') RETURNING id",
        [SITE],
      );
      wo = Number(res.rows[0]?.id);
      await client.query(
        "INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name) SELECT $1, $2, g, 'step ' || g FROM generate_series(1, 250) g",
        [SITE, wo],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // A second, later transaction: it belongs to the next page.
    await hqRows(
      hq,
      "INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end) VALUES ($1, 'AFTER', 'L', 1, now(), now() + interval '8 hours')",
      [SITE],
    );

    const pull = () => pullOnce({ sqlite: edge.gw.ctx.store.sqlite, pool, site: SITE, now: () => Date.now(), pageSize: 100 });
    // The pull stops below the oldest transaction open anywhere on the server (other suites'
    // included), so the first page may take a few tries to appear; it must then be whole.
    const deadline = Date.now() + 20_000;
    let first = await pull();
    while (first.rows === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      first = await pull();
    }
    expect(first.rows).toBe(251);
    expect(first.more).toBe(true);
    expect(localStages(wo)).toBe(250);
    const laterOrders = () => edge.gw.ctx.store.sqlite.prepare("SELECT count(*) AS n FROM work_orders WHERE product_code = 'AFTER'").get() as { n: number };
    expect(laterOrders().n).toBe(0);

    let second = await pull();
    while (second.rows === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      second = await pull();
    }
    expect(second.rows).toBe(1);
    expect(laterOrders().n).toBe(1);
  });
});
