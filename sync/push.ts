import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { applyFacts, applyMutable, type Rejection } from './hq-apply.ts';
import { isRowRejection } from './hq/pool.ts';
import { foldChanges, type Versioned } from './merge.ts';
import { ackThrough, closeEpoch, factRows, highestSeq, nextBatch, type OutboxRow } from './outbox.ts';
import { setMeta } from './state.ts';
import { FACT_TABLES, MUTABLE_TABLES } from './tables.ts';

export interface PushDeps {
  sqlite: Database;
  pool: pg.Pool;
  site: number;
  now: () => number;
  /** Rows per batch (whole epochs; one larger epoch still travels alone). Default BATCH_ROWS. */
  batchRows?: number;
  /** Fault injection for tests: called at named points of a push. */
  hook?: (point: 'before-commit' | 'after-commit') => Promise<void> | void;
}

export interface PushResult {
  /** Outbox rows acknowledged by this call (0: nothing was waiting). */
  rows: number;
  rejected: number;
  /** More closed epochs wait. */
  more: boolean;
}

/** Outbox rows per push: large enough that a catch-up is not round-trip bound, small enough to stay a short HQ transaction. */
export const BATCH_ROWS = 20_000;

/** A site whose HQ cursor is past anything this database issued is not this database's site. */
export class CursorMismatchError extends Error {
  override name = 'CursorMismatchError';
}

/** Folds the batch's changes per row (oldest first) for each mutable table. */
function foldBatch(rows: OutboxRow[]): Map<string, Map<string, Versioned>> {
  const perRow = new Map<string, Map<string, Versioned[]>>();
  for (const r of rows) {
    const data = JSON.parse(r.data) as Record<string, unknown>;
    const clocks = Object.fromEntries(Object.keys(data).map((k) => [k, r.hlc]));
    const t = perRow.get(r.tbl) ?? new Map<string, Versioned[]>();
    perRow.set(r.tbl, t);
    const list = t.get(r.pk) ?? [];
    list.push({ values: data, clocks });
    t.set(r.pk, list);
  }
  const out = new Map<string, Map<string, Versioned>>();
  for (const spec of MUTABLE_TABLES) {
    const t = perRow.get(spec.name);
    if (!t) continue;
    out.set(spec.name, new Map([...t].map(([k, list]) => [k, foldChanges(spec, list)])));
  }
  return out;
}

async function ensurePartitions(pool: pg.Pool, readings: Array<Record<string, unknown>>): Promise<void> {
  if (readings.length === 0) return;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const r of readings) {
    const t = Number(r.recorded_at);
    if (t < min) min = t;
    if (t > max) max = t;
  }
  await pool.query('SELECT gw_ensure_reading_partitions($1, $2)', [new Date(min), new Date(max)]);
}

/**
 * Sends the next batch and applies it at HQ in one transaction that also advances the site's
 * cursor; rows at or below the cursor were applied before (a resend) and are skipped. A row
 * HQ refuses is retried alone and set aside with its reason; the rest of the batch goes on.
 */
export async function pushOnce(deps: PushDeps): Promise<PushResult> {
  const { sqlite, pool, site } = deps;
  closeEpoch(sqlite);
  const batch = nextBatch(sqlite, deps.batchRows ?? BATCH_ROWS);
  if (!batch) return { rows: 0, rejected: 0, more: false };
  const facts = new Map(FACT_TABLES.map((spec) => [spec.name, factRows(sqlite, spec, batch.lastSeq)]));
  await ensurePartitions(pool, facts.get('machine_readings') ?? []);
  const issued = highestSeq(sqlite);

  const attempt = async (careful: boolean): Promise<Rejection[]> => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('gw.applying', $1, true)", [String(site)]);
      const cur = await client.query<{ last_seq: number }>('SELECT last_seq FROM sync_push_cursor WHERE site_id = $1 FOR UPDATE', [site]);
      const row = cur.rows[0];
      if (!row) throw new Error(`site ${site} is not registered at HQ: run \`npx gateway hq add-site ${site}\``);
      if (row.last_seq > issued) {
        throw new CursorMismatchError(
          `HQ has applied outbox rows up to ${row.last_seq} from site ${site}, but this database issued only up to ${issued}: it is not the database HQ knows for this site (restore it with \`npx gateway sync restore\`)`,
        );
      }
      // Rows at or below the cursor were applied before: HQ committed, the edge never heard.
      const fresh = batch.changes.filter((r) => r.seq > row.last_seq);
      const rejected: Rejection[] = [];
      for (const [tbl, changes] of foldBatch(fresh)) {
        const spec = MUTABLE_TABLES.find((t) => t.name === tbl);
        if (spec) rejected.push(...(await applyMutable(client, spec, changes, site, careful, isRowRejection)));
      }
      for (const spec of FACT_TABLES) {
        const rows = (facts.get(spec.name) ?? []).filter((r) => r.seq > row.last_seq);
        rejected.push(...(await applyFacts(client, spec, rows, site, careful, isRowRejection)));
      }
      await client.query('UPDATE sync_push_cursor SET last_seq = $2, pushed_at = now() WHERE site_id = $1', [site, batch.lastSeq]);
      // Refused rows are recorded here before HQ commits: once it has, a resend skips them, so an
      // edge that dies (or finds its disk full) before its acknowledgement would lose the record.
      // A failure here rolls HQ back and the batch is retried; a retry records nothing twice.
      if (rejected.length > 0) recordRejections(sqlite, rejected, deps.now());
      await deps.hook?.('before-commit');
      await client.query('COMMIT');
      return rejected;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  };

  let rejected: Rejection[];
  try {
    rejected = await attempt(false);
  } catch (err) {
    if (!isRowRejection(err)) throw err;
    rejected = await attempt(true);
  }
  await deps.hook?.('after-commit');
  const at = deps.now();
  sqlite
    .transaction(() => {
      setMeta(sqlite, 'last_push_at', at);
      ackThrough(sqlite, batch.lastSeq);
    })
    .immediate();
  const more = sqlite.prepare('SELECT 1 FROM sync_outbox WHERE tx < (SELECT epoch FROM sync_state WHERE id = 1) LIMIT 1').get() !== undefined;
  return { rows: batch.count, rejected: rejected.length, more };
}

/** Sets refused rows aside for the operator (GET /sync/status); the same refusal is kept once. */
function recordRejections(sqlite: Database, rejected: Rejection[], at: number): void {
  const put = sqlite.prepare(
    "INSERT INTO sync_rejected (direction, tbl, pk, data, reason, at) SELECT 'push', @tbl, @pk, @data, @reason, @at " +
      "WHERE NOT EXISTS (SELECT 1 FROM sync_rejected WHERE direction = 'push' AND tbl = @tbl AND pk = @pk AND data = @data AND reason = @reason)",
  );
  sqlite.transaction(() => {
    for (const r of rejected) put.run({ tbl: r.tbl, pk: r.pk, data: r.data, reason: r.reason, at });
  })();
}
