import pg from 'pg';
import { SQLITE_NOW_MS } from '../../../sync/hlc.ts';
import { TABLES } from '../../../sync/tables.ts';
import { type FaultEdge, type KillPoint, killChild, openEdge } from './edge.ts';
import { hqWrite, observeEdge, observeHq, pick, type Run } from './run.ts';

/**
 * Faults beyond a cut link: an edge process SIGKILLed at a random point of push, pull or a write;
 * HQ "restarting" (every connection through the run's proxy dropped at once, new ones refused for
 * a step or two); the edge's clock jumping back (sync_state.wall raised ahead of SQLite's real
 * clock, so the real clock is behind) or forward (the edge's manual clock); INSERT and UPDATE on
 * a table revoked from a site's role; an owner transaction left open; a full edge disk. The
 * lasting ones are undone by tickFaults after some steps, and all by clearFaults before the heal.
 */
export type FaultKind = 'kill' | 'hq-restart' | 'clock-back' | 'clock-forward' | 'revoke' | 'long-tx' | 'disk-full';
export const FAULT_KINDS: FaultKind[] = ['kill', 'hq-restart', 'clock-back', 'clock-forward', 'revoke', 'long-tx', 'disk-full'];
const KILL_POINTS: KillPoint[] = ['before-commit', 'after-commit', 'mid-pull', 'mid-write', 'anytime'];
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FREE_PAGES = 1073741823;

/** Applies one fault to edge `e` (or to HQ as `e`'s site sees it). */
export async function faultStep(run: Run, e: FaultEdge, r: () => number, kind: FaultKind): Promise<string> {
  const site = e.site;
  switch (kind) {
    case 'kill': {
      observeEdge(run, e);
      const index = run.edges.indexOf(e);
      const now = e.clock.now();
      await e.close();
      run.faults.fullDisk.delete(site);
      const point = pick(r, KILL_POINTS) ?? 'anytime';
      let cycles = 1 + Math.floor(r() * 3);
      if (point === 'mid-pull') {
        // The hook runs only on a page with changes: give the first cycle something to pull.
        cycles = 1;
        await hqWrite(run, "UPDATE work_order_stages SET planned_end = planned_end + interval '1 minute' WHERE site_id = $1 AND NOT _deleted", [site]);
        await observeHq(run, site);
      }
      const out = await killChild(e.dir, site, e.url, Math.floor(r() * 2 ** 31), point, cycles, 50 + Math.floor(r() * 1500));
      for (const [first, n] of out.readings) run.ledger.addReadings(site, first, n);
      const again = await openEdge(site, e.dir, e.url, now);
      run.edges[index] = again;
      observeEdge(run, again);
      return `edge ${site} child SIGKILLed at ${out.at} (asked ${point}, cycle ${cycles}; ${out.readings.length} reading blocks)`;
    }
    case 'hq-restart': {
      await sleep(r() * 40); // lands inside whatever cycles run beside it
      run.proxy.setDown(true);
      run.faults.hqDown = Math.max(run.faults.hqDown, 1 + Math.floor(r() * 2));
      return `hq restart: every connection dropped, down for ${run.faults.hqDown} steps`;
    }
    case 'clock-back': {
      const ms = Math.floor(r() * HOUR);
      e.ctx.store.sqlite.prepare(`UPDATE sync_state SET wall = max(wall, ${SQLITE_NOW_MS} + ?) WHERE id = 1`).run(ms);
      return `edge ${site} clock set back ${ms} ms (its last clock ahead of the real one)`;
    }
    case 'clock-forward': {
      const ms = Math.floor(r() * HOUR);
      e.clock.advance(ms);
      return `edge ${site} clock forward ${ms} ms`;
    }
    case 'revoke': {
      const role = run.roles.get(site);
      if (!role) return `edge ${site} revoke: no role of its own (owner login)`;
      const table = pick(r, TABLES)?.name ?? 'work_orders';
      if (run.faults.revoked.some((x) => x.role === role && x.table === table)) return `edge ${site} revoke ${table}: revoked already`;
      const res = await grant(run, `REVOKE INSERT, UPDATE ON ${table} FROM "${role}"`);
      if (res !== 'ok') return `edge ${site} revoke ${table}: ${res}`;
      const steps = 1 + Math.floor(r() * 3);
      run.faults.revoked.push({ role, table, steps });
      return `edge ${site} REVOKE INSERT, UPDATE ON ${table} for ${steps} steps`;
    }
    case 'long-tx': {
      if (run.faults.longTx) return 'long hq transaction open already';
      // Claimed before the first await: two of these in one step must not open two, one of them
      // never committed (it held every pull on the server back until the process ended).
      const client = new pg.Client({ connectionString: run.hq.server.url });
      const tx = { client, site, steps: Number.POSITIVE_INFINITY };
      run.faults.longTx = tx;
      client.on('error', () => {});
      await client.connect();
      await client.query('BEGIN');
      await client.query(
        `WITH wo AS (INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end)
           VALUES ($1, 'HQ-LONG', 'L', 4, '2026-11-28T08:00Z', '2026-11-28T16:00Z') RETURNING id)
         INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name, planned_start, planned_end)
           SELECT $1, wo.id, 1, 'long', '2026-11-28T08:00Z', '2026-11-28T16:00Z' FROM wo`,
        [site],
      );
      const steps = 1 + Math.floor(r() * 3);
      tx.steps = steps;
      return `hq transaction open for ${steps} steps (a work order for ${site})`;
    }
    case 'disk-full': {
      const sqlite = e.ctx.store.sqlite;
      sqlite.pragma(`max_page_count = ${sqlite.pragma('page_count', { simple: true }) as number}`);
      const steps = 1 + Math.floor(r() * 3);
      run.faults.fullDisk.set(site, steps);
      return `edge ${site} disk full for ${steps} steps`;
    }
  }
}

/** GRANT or REVOKE as the owner; another run's GRANT on the same table may clash ("tuple concurrently updated"). */
async function grant(run: Run, sql: string): Promise<string> {
  try {
    const res = await hqWrite(run, sql, []);
    return typeof res === 'string' ? res : 'ok';
  } catch (err) {
    if (/concurrently/.test((err as Error).message)) return 'busy';
    throw err;
  }
}

async function commitLongTx(run: Run): Promise<string> {
  const tx = run.faults.longTx;
  if (!tx) return '';
  run.faults.longTx = undefined;
  await tx.client.query('COMMIT');
  await tx.client.end();
  await observeHq(run, tx.site);
  return `hq long transaction committed (${tx.site})`;
}

const edgeOf = (run: Run, site: number) => run.edges.find((e) => e.site === site);

/** Counts the lasting faults down after a step and undoes those whose time is up. */
export async function tickFaults(run: Run): Promise<string[]> {
  const out: string[] = [];
  const f = run.faults;
  if (f.hqDown > 0 && --f.hqDown === 0) {
    run.proxy.setDown(false);
    out.push('hq back up');
  }
  for (const x of [...f.revoked]) {
    if (--x.steps > 0) continue;
    const res = await grant(run, `GRANT INSERT, UPDATE ON ${x.table} TO "${x.role}"`);
    if (res !== 'ok') {
      out.push(`GRANT ON ${x.table} to ${x.role}: ${res}, again next step`);
      continue;
    }
    f.revoked.splice(f.revoked.indexOf(x), 1);
    out.push(`GRANT INSERT, UPDATE ON ${x.table} back`);
  }
  if (f.longTx && --f.longTx.steps <= 0) out.push(await commitLongTx(run));
  for (const [site, steps] of [...f.fullDisk]) {
    if (steps > 1) {
      f.fullDisk.set(site, steps - 1);
      continue;
    }
    f.fullDisk.delete(site);
    edgeOf(run, site)?.ctx.store.sqlite.pragma(`max_page_count = ${FREE_PAGES}`);
    out.push(`edge ${site} disk has room again`);
  }
  return out;
}

/** Undoes every fault still in force: the link heals. */
export async function clearFaults(run: Run): Promise<string[]> {
  const out: string[] = [];
  const f = run.faults;
  f.hqDown = 0;
  run.proxy.setDown(false);
  out.push(await commitLongTx(run));
  for (let attempt = 0; f.revoked.length > 0; attempt++) {
    const x = f.revoked[0];
    if (!x) break;
    const res = await grant(run, `GRANT INSERT, UPDATE ON ${x.table} TO "${x.role}"`);
    if (res === 'ok') f.revoked.shift();
    else if (attempt > 100) throw new Error(`cannot GRANT back ${x.table} to ${x.role}: ${res}`);
    else await sleep(100);
  }
  for (const site of f.fullDisk.keys()) edgeOf(run, site)?.ctx.store.sqlite.pragma(`max_page_count = ${FREE_PAGES}`);
  f.fullDisk.clear();
  return out.filter(Boolean);
}
