import type { AppContext } from '../../context.ts';
import type { Span } from './calendar.ts';

/** How often a running gateway moves its run's alive_at forward: a crash loses at most this much known time. */
export const ALIVE_EVERY_MS = 60_000;

/**
 * Records this process's run in gateway_runs: a row at start, alive_at every minute, stopped_at at a
 * clean stop. The time between one run's end and the next run's start is `unknown` in machine states.
 */
export function startRunRecorder(ctx: AppContext): { name: string; stop(): void } {
  const startedAt = ctx.clock.now();
  const insert = ctx.store.sqlite.prepare('INSERT INTO gateway_runs (id, started_at, alive_at) VALUES (?, ?, ?)');
  const alive = ctx.store.sqlite.prepare('UPDATE gateway_runs SET alive_at = max(alive_at, ?) WHERE id = ?');
  const stopped = ctx.store.sqlite.prepare('UPDATE gateway_runs SET stopped_at = alive_at WHERE id = ?');
  let id: number | undefined;
  // Storage that refuses the first row (a full disk at start-up) does not stop the gateway: the
  // next beat records the run, from when it really started.
  const beat = (stopping: boolean) => {
    try {
      ctx.store.commandNow(() => {
        if (id === undefined) {
          const runId = ctx.store.ids.next('gateway_runs');
          insert.run(runId, startedAt, startedAt);
          id = runId;
        }
        alive.run(ctx.clock.now(), id);
        if (stopping) stopped.run(id);
      });
    } catch (err) {
      // A full disk or a held lock: the next beat tries again; the run only looks shorter meanwhile.
      ctx.logger.warn({ err, module: 'oee' }, 'gateway run not stored');
    }
  };
  beat(false);
  const timer = setInterval(() => beat(false), ALIVE_EVERY_MS);
  timer.unref();
  return {
    name: 'gateway-run',
    stop: () => {
      clearInterval(timer);
      beat(true);
    },
  };
}

/**
 * The spans the gateway was running, as far as gateway_runs knows, overlapping `span`; undefined when no
 * run was ever recorded (a database from before runs were recorded: its time is judged by events alone).
 * The latest run, not stopped, is running now (this process).
 */
export function runSpans(ctx: Pick<AppContext, 'store'>, span: Span, now: number): { runs: Span[]; firstStart: number } | undefined {
  const first = ctx.store.sqlite.prepare('SELECT min(started_at) FROM gateway_runs').pluck().get() as number | null;
  if (first === null) return undefined;
  const rows = ctx.store.sqlite
    .prepare(
      `SELECT started_at AS "from", CASE WHEN stopped_at IS NULL AND started_at = (SELECT max(started_at) FROM gateway_runs) THEN ? ELSE coalesce(stopped_at, alive_at) END AS "to"
       FROM gateway_runs WHERE started_at < ? ORDER BY started_at`,
    )
    .all(now, span.to) as Span[];
  return { runs: rows.filter((r) => r.to > span.from), firstStart: first };
}
