import type pg from 'pg';
import type { TcpProxy } from '../../sim/tcp-proxy.ts';
import type { Hq } from '../fixture.ts';
import type { FaultEdge } from './edge.ts';
import { edgeSnapshot, hqSnapshot, type Ledger } from './ledger.ts';

/** A seeded generator (mulberry32): the same seed gives the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: () => number, items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

/** Faults that last a few steps, and what undoes them. */
export interface OpenFaults {
  /** Steps left while HQ "restarts" (the proxy refuses connections). */
  hqDown: number;
  /** A table whose INSERT and UPDATE are revoked from a site's role, and for how many steps. */
  revoked: Array<{ role: string; table: string; steps: number }>;
  /** An owner transaction kept open, with what it wrote, for how many steps. */
  longTx: { client: pg.Client; site: number; steps: number } | undefined;
  /** Edges whose disk is full, for how many steps. */
  fullDisk: Map<number, number>;
}

/** Everything one run works with. */
export interface Run {
  seed: number;
  hq: Hq;
  edges: FaultEdge[];
  proxy: TcpProxy;
  /** Whether the sites push as their own login roles (real PostgreSQL only), so a REVOKE bites. */
  roles: Map<number, string>;
  ledger: Ledger;
  faults: OpenFaults;
  log: string[];
}

/** Records what an edge committed since it was last looked at. */
export function observeEdge(run: Run, e: FaultEdge): void {
  if (e.ctx.store.sqlite.open) run.ledger.record(edgeSnapshot(e.ctx.store.sqlite), e.site, `edge ${e.site}`);
}

/** Records what HQ committed for a site since it was last looked at. */
export async function observeHq(run: Run, site: number): Promise<void> {
  run.ledger.record(await hqSnapshot(run.hq.owner, site), 0, 'hq');
}

/**
 * One plain-SQL write at HQ as the owner, in its own transaction. A lock it cannot get in 3 s
 * (a push holding the row) gives up, and so do a write HQ refuses (a status a push moved on
 * meanwhile) and a deadlock's victim: the caller gets the reason as a string, as an HQ tool
 * would show it.
 */
export async function hqWrite<T extends pg.QueryResultRow = Record<string, unknown>>(run: Run, sql: string, params: unknown[]): Promise<T[] | string> {
  const client = await run.hq.owner.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL lock_timeout = '3s'");
    const res = await client.query<T>(sql, params);
    await client.query('COMMIT');
    return res.rows;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const code = (err as { code?: string }).code ?? '';
    if (code === '55P03') return 'lock timeout';
    // PostgreSQL chose this write as a deadlock's victim (a push or another HQ writer held the
    // rows it needed in the other order) and rolled it back: an HQ tool would try again.
    if (code === '40P01' || code === '40001') return `rolled back ${code}`;
    // HQ refusing a status moved back (a push got there first): an HQ tool would show the error.
    if (code.startsWith('23')) return `refused ${code}`;
    throw err;
  } finally {
    client.release();
  }
}
