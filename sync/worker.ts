import type { Database } from 'better-sqlite3';
import type pg from 'pg';
import type { ShopEvent } from '../src/events/bus.ts';
import { createHqPool, type HqOptions } from './hq/pool.ts';
import { checkClockSkew, DEFAULT_CLOCK_SKEW_LIMIT_MS } from './clock-skew.ts';
import { pullOnce } from './pull.ts';
import { pushOnce } from './push.ts';
import { enableCaptureGradually, setMeta } from './state.ts';
import { backlog, closeEpoch } from './outbox.ts';

/** The figures the worker reports (src/metrics.ts implements them with prom-client). */
export interface SyncGauges {
  online(v: boolean): void;
  backlog(rows: number, oldestAgeS: number): void;
  pushed(rows: number): void;
  pulled(rows: number): void;
  error(): void;
  /** Seconds the pull has not passed every committed HQ change for the site, and how many wait. */
  pullLag?(seconds: number, held: number): void;
  /** The wall clock behind the last clock value, and ahead of HQ's (s); whether either is past the limit. */
  clock?(behindS: number, hqOffsetS: number, exceeded: boolean): void;
}

export interface SyncWorkerOptions {
  sqlite: Database;
  site: number;
  hq: HqOptions;
  intervalMs: number;
  now: () => number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  gauges?: SyncGauges;
  /** Told about progress of long catch-ups (sync now / restore). */
  progress?: (line: string) => void;
  random?: () => number;
  /** An existing pool (tests, restore); otherwise one is created. */
  pool?: pg.Pool;
  /** Where pulled changes' event rows are published (ctx.bus.publish), after each page commits. */
  publish?: (event: ShopEvent) => void;
  /** SYNC_CLOCK_SKEW_LIMIT_MS (default 60 s). */
  clockSkewLimitMs?: number;
  /** The wall clock compared with HQ's (tests); default SQLite's, which stamps the changes. */
  wallMs?: () => number;
  /** Fault injection for tests at named points of push and pull. */
  hooks?: (point: 'before-commit' | 'after-commit' | 'mid-pull') => Promise<void> | void;
}

export interface CycleResult {
  pushed: number;
  pulled: number;
  rejected: number;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60_000;
const NUDGE_MS = 250;

/** Full jitter: a uniform delay up to min(cap, base × 2^attempt). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt));
}

/**
 * Push then pull, on a timer, online or not. A failed cycle is retried after a full-jitter
 * backoff (1 s doubling to 5 min) without waiting for a new local write; success returns to the
 * normal interval. One cycle runs at a time.
 */
export function createSyncWorker(opts: SyncWorkerOptions) {
  const pool = opts.pool ?? createHqPool(opts.hq);
  const ownPool = !opts.pool;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<CycleResult> | undefined;
  let attempt = 0;
  let stopped = true;
  // The first snapshot of a large history is enqueued in short transactions while the API
  // answers; every cycle waits until capture is on, and a failed attempt (a full disk) is retried
  // by the next cycle.
  let shut = false;
  let capturing: Promise<number> | undefined;
  const captureOn = () =>
    (capturing ??= enableCaptureGradually(opts.sqlite, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      if (shut) throw new Error('stopped while enqueueing the first snapshot; the next start goes on from there');
    }).catch((err) => {
      capturing = undefined;
      throw err;
    }));
  captureOn().catch(() => {});

  // One warning when the clocks drift past the limit and one line when they are back: per
  // episode, not per cycle.
  let skewed = false;
  const checkClock = () => {
    const s = checkClockSkew(opts.sqlite, opts.clockSkewLimitMs ?? DEFAULT_CLOCK_SKEW_LIMIT_MS, opts.now());
    opts.gauges?.clock?.(s.behind_ms / 1000, (s.hq_offset_ms ?? 0) / 1000, s.exceeded);
    const fields = { behind_ms: s.behind_ms, hq_offset_ms: s.hq_offset_ms, limit_ms: s.limit_ms };
    if (s.exceeded && !skewed) {
      opts.log.warn(fields, 'clock skew past SYNC_CLOCK_SKEW_LIMIT_MS: writes made now are ordered against HQ by a wrong wall clock (docs/sync.md, Clock)');
    } else if (!s.exceeded && skewed) opts.log.info(fields, 'clock skew back within SYNC_CLOCK_SKEW_LIMIT_MS');
    skewed = s.exceeded;
  };

  const report = () => {
    const b = backlog(opts.sqlite);
    opts.gauges?.backlog(b.count, b.oldestAt === null ? 0 : Math.max(0, (opts.now() - b.oldestAt) / 1000));
  };

  /** What GET /sync/status shows, in one commit: online and the last error go together. */
  const recordStatus = (online: boolean, error: string | null) =>
    opts.sqlite.transaction(() => {
      setMeta(opts.sqlite, 'online', online ? 1 : 0);
      setMeta(opts.sqlite, 'last_error', error);
    })();

  const cycle = async (): Promise<CycleResult> => {
    const out: CycleResult = { pushed: 0, pulled: 0, rejected: 0 };
    const pushAll = async () => {
      for (;;) {
        const r = await pushOnce({ sqlite: opts.sqlite, pool, site: opts.site, now: opts.now, hook: opts.hooks });
        out.pushed += r.rows;
        out.rejected += r.rejected;
        opts.gauges?.pushed(r.rows);
        if (r.rows > 0) opts.progress?.(`pushed ${out.pushed} rows${r.more ? ', more waiting' : ''}`);
        if (!r.more) break;
      }
    };
    try {
      await captureOn();
      await pushAll();
      for (;;) {
        const r = await pullOnce({
          sqlite: opts.sqlite,
          pool,
          site: opts.site,
          now: opts.now,
          hook: opts.hooks,
          publish: opts.publish,
          lag: (l) => opts.gauges?.pullLag?.(l.lag_s, l.held_changes),
          wallMs: opts.wallMs,
        });
        out.pulled += r.rows;
        opts.gauges?.pulled(r.rows);
        if (r.rows > 0) opts.progress?.(`pulled ${out.pulled} changes${r.more ? ', more waiting' : ''}`);
        if (!r.more) break;
      }
      // Pulled changes wrote event rows; send them now rather than one interval later.
      if (out.pulled > 0) await pushAll();
      recordStatus(true, null);
      opts.gauges?.online(true);
      return out;
    } catch (err) {
      const message = (err as Error).message || String(err);
      // On a full disk even this may fail; the cycle's own error is what is reported and retried.
      try {
        recordStatus(false, message);
      } catch {}
      opts.gauges?.online(false);
      opts.gauges?.error();
      throw err;
    } finally {
      report();
      try {
        checkClock();
      } catch {} // a full disk: the cycle's own error is what is reported
    }
  };

  /** Runs one cycle now (or joins the one running). */
  const runCycle = (): Promise<CycleResult> => {
    running ??= cycle().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  };

  const tick = () => {
    runCycle().then(
      (r) => {
        attempt = 0;
        if (r.pushed + r.pulled > 0) opts.log.info({ ...r }, 'sync cycle');
        schedule(opts.intervalMs);
      },
      (err) => {
        const delay = backoffDelay(attempt++, opts.random);
        opts.log.warn({ err, retry_in_ms: delay }, 'sync cycle failed');
        schedule(Math.max(BACKOFF_MIN_MS, delay));
      },
    );
  };

  // While online, a new local change is pushed within NUDGE_MS instead of waiting for the next
  // interval: reading the outbox's last sequence is a single-row lookup. Offline (or while a
  // cycle runs) new changes still get their epoch closed every NUDGE_MS, so a backlog built
  // during a long backoff is many moderate epochs, not one as large as the outage.
  const lastSeq = opts.sqlite.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'");
  let seen = lastSeq.get()?.seq ?? 0;
  let closed = seen;
  const nudge = setInterval(() => {
    if (stopped || !opts.sqlite.open) return;
    const now = lastSeq.get()?.seq ?? 0;
    if (attempt > 0 || running) {
      if (now === closed) return;
      closed = now;
      try {
        closeEpoch(opts.sqlite);
      } catch {} // a full disk: the cycle reports it; the next tick tries again
      return;
    }
    if (now === seen) return;
    seen = now;
    if (timer) clearTimeout(timer);
    tick();
  }, NUDGE_MS);
  nudge.unref();

  return {
    name: 'sync',
    pool,
    runCycle,
    start() {
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      shut = true;
      clearInterval(nudge);
      if (timer) clearTimeout(timer);
      await capturing?.catch(() => {});
      await running?.catch(() => {});
      if (ownPool) await pool.end();
    },
  };
}

export type SyncWorker = ReturnType<typeof createSyncWorker>;
