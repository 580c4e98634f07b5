import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import { applyFacts, applyMutable, type Rejection } from './hq-apply.ts';
import { isRowRejection } from './hq/pool.ts';
import { foldChanges, type Versioned } from './merge.ts';
import { ackThrough, type Batch, CHUNK_ROWS, type Chunk, closeEpoch, highestSeq, nextBatch, type OutboxRow, readChunk, readingsSpan } from './outbox.ts';
import { localTransaction } from './local-tx.ts';
import { setMeta } from './state.ts';
import { FACT_TABLES, MUTABLE_TABLES } from './tables.ts';

export interface PushDeps {
  sqlite: Database;
  pool: pg.Pool;
  site: number;
  now: () => number;
  /** Rows per batch (whole epochs; one larger epoch still travels alone). Default BATCH_ROWS. */
  batchRows?: number;
  /** Outbox rows read and sent at a time within a batch. Default CHUNK_ROWS. */
  chunkRows?: number;
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

/** Outbox rows per readings-span query before a push (each one synchronous, short). */
const SPAN_ROWS = 20_000;

/**
 * Creates the monthly partitions the batch's readings need, in a short transaction of its own
 * before the push's (a partition created inside it would lock machine_readings for other sites
 * until it commits). The span is read in slices, yielding between them, so a huge epoch does not
 * hold the event loop.
 */
async function ensurePartitions(sqlite: Database, pool: pg.Pool, batch: Batch): Promise<void> {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const first = (sqlite.prepare('SELECT min(seq) AS s FROM sync_outbox').get() as { s: number | null }).s ?? batch.lastSeq;
  for (let after = first - 1; after < batch.lastSeq; after += SPAN_ROWS) {
    if (after >= first) await yieldToLoop();
    const span = readingsSpan(sqlite, after, Math.min(batch.lastSeq, after + SPAN_ROWS));
    if (!span) continue;
    min = Math.min(min, span.min);
    max = Math.max(max, span.max);
  }
  if (min > max) return;
  await pool.query('SELECT gw_ensure_reading_partitions($1, $2)', [new Date(min), new Date(max)]);
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Applies one chunk in the push's transaction, under a savepoint: a row HQ refuses rolls back
 * only this chunk, which is then applied row by row and the refused rows set aside. Refusals are
 * recorded on the edge before HQ commits (once it has, a resend skips them, so an edge that dies
 * or finds its disk full before its acknowledgement would lose the record); a retry after a
 * failed commit records nothing twice.
 */
async function applyChunk(client: pg.PoolClient, chunk: Chunk, deps: PushDeps): Promise<number> {
  const apply = async (careful: boolean): Promise<Rejection[]> => {
    const rejected: Rejection[] = [];
    for (const [tbl, changes] of foldBatch(chunk.changes)) {
      const spec = MUTABLE_TABLES.find((t) => t.name === tbl);
      if (spec) for (const r of await applyMutable(client, spec, changes, deps.site, careful, isRowRejection)) rejected.push(r);
    }
    for (const spec of FACT_TABLES) {
      const rows = chunk.facts.get(spec.name) ?? [];
      for (const r of await applyFacts(client, spec, rows, deps.site, careful, isRowRejection)) rejected.push(r);
    }
    return rejected;
  };
  await client.query('SAVEPOINT gw_chunk');
  let rejected: Rejection[];
  try {
    rejected = await apply(false);
  } catch (err) {
    if (!isRowRejection(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT gw_chunk');
    rejected = await apply(true);
  }
  await client.query('RELEASE SAVEPOINT gw_chunk');
  if (rejected.length > 0) recordRejections(deps.sqlite, rejected, deps.now());
  return rejected.length;
}

/**
 * Sends the next batch and applies it at HQ in one transaction that also advances the site's
 * cursor; rows at or below the cursor were applied before (a resend) and are skipped. The batch
 * is read and sent a chunk at a time inside that transaction, so memory stays bounded whatever
 * its size. A row HQ refuses is retried alone and set aside with its reason; the rest goes on.
 */
export async function pushOnce(deps: PushDeps): Promise<PushResult> {
  const { sqlite, pool, site } = deps;
  const chunkRows = deps.chunkRows ?? CHUNK_ROWS;
  closeEpoch(sqlite);
  const batch = nextBatch(sqlite, deps.batchRows ?? BATCH_ROWS);
  if (!batch) return { rows: 0, rejected: 0, more: false };
  await ensurePartitions(sqlite, pool, batch);
  const issued = highestSeq(sqlite);

  const client = await pool.connect();
  let broken = false;
  let rejected = 0;
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
    for (let after = Number(row.last_seq); ; ) {
      const chunk = readChunk(sqlite, FACT_TABLES, after, batch.lastSeq, chunkRows);
      if (!chunk) break;
      rejected += await applyChunk(client, chunk, deps);
      after = chunk.lastSeq;
    }
    await client.query('UPDATE sync_push_cursor SET last_seq = GREATEST(last_seq, $2), pushed_at = now() WHERE site_id = $1', [site, batch.lastSeq]);
    await deps.hook?.('before-commit');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
  await deps.hook?.('after-commit');
  // Acknowledged a chunk per transaction, yielding between them: HQ's cursor covers the whole
  // batch, so a crash part-way leaves rows that the next push skips.
  const at = deps.now();
  let rows = 0;
  for (let first = true; ; first = false) {
    const n = localTransaction(sqlite, () => {
      if (first) setMeta(sqlite, 'last_push_at', at);
      return ackThrough(sqlite, batch.lastSeq, chunkRows);
    });
    rows += n;
    if (n < chunkRows) break;
    await yieldToLoop();
  }
  const more = sqlite.prepare('SELECT 1 FROM sync_outbox WHERE tx < (SELECT epoch FROM sync_state WHERE id = 1) LIMIT 1').get() !== undefined;
  return { rows, rejected, more };
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
