import type { Database } from 'better-sqlite3';
import { unavailable } from '../errors.ts';
import type { ShopEvent } from '../events/bus.ts';
import type { DataWrites } from './entities/index.ts';
import type { AppendEvent, NewEvent } from './event-rows.ts';
import type { FaultReporter } from './faults.ts';

/**
 * What a command sees of its transaction: every entity's reads and writes (`tx.stages.update`,
 * data/index.ts), only here, so a write outside a command is a type error.
 */
export interface Tx extends DataWrites {
  /** Writes the event row in this transaction; it is published on the bus only after commit. */
  emit(e: NewEvent): ShopEvent;
  /** Runs f once this command's transaction has committed (never if it rolls back). */
  afterCommit(f: () => void): void;
}

/** The one way state changes: every write of the gateway goes through here. */
export interface CommandRunner {
  /** Group commit: commands of one event-loop turn share one IMMEDIATE transaction and one fsync. */
  run<T>(fn: (tx: Tx) => T): Promise<T>;
  /** The same, at once and alone (start-up, tools, the readings writer's timer); never waits for a lock. */
  runNow<T>(fn: (tx: Tx) => T): T;
}

export interface CommandDeps {
  sqlite: Database;
  /** The entities' reads and writes, prepared once; every command's tx carries them. */
  data: DataWrites;
  appendEvent: AppendEvent;
  publish: (e: ShopEvent) => void;
  faults: FaultReporter;
  onHookError: (err: unknown) => void;
  /** Longest total wait for a lock held by another connection, then UNAVAILABLE. */
  writeWaitMs: number;
  monotonicMs?: () => number;
}

interface Pending {
  fn: (tx: Tx) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  deadline: number;
}

interface Scope extends Tx {
  hooks: Array<() => void>;
}

const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;
const isBusy = (err: unknown) => /^SQLITE_BUSY/.test(String((err as { code?: unknown } | null)?.code ?? ''));

/**
 * With synchronous=FULL every commit costs an fsync, so commands that arrive together run one
 * after another in one IMMEDIATE transaction, each in its own savepoint (a failing command rolls
 * back alone), and are acknowledged after that single commit. Event rows are written by the
 * command in the same transaction; events and other hooks run after the commit that carries them.
 *
 * The connection's busy_timeout is 0: better-sqlite3 waits for a lock by blocking the thread,
 * which would freeze reads and /health too. A lock held by another connection is waited for here
 * instead, retrying on timers with backoff, each command at most writeWaitMs in total.
 */
export function createCommandRunner(deps: CommandDeps): CommandRunner {
  const { sqlite } = deps;
  const clock = deps.monotonicMs ?? (() => performance.now());
  const begin = sqlite.prepare('BEGIN IMMEDIATE');
  const commit = sqlite.prepare('COMMIT');
  const rollback = sqlite.prepare('ROLLBACK');
  // One savepoint per command (better-sqlite3's transaction() would build a new wrapper each call).
  const savepoint = sqlite.prepare('SAVEPOINT command');
  const release = sqlite.prepare('RELEASE command');
  const rollbackTo = sqlite.prepare('ROLLBACK TO command');
  let pending: Pending[] = [];
  let scheduled = false;
  let retryMs = FIRST_RETRY_MS;
  let current: Scope | undefined;

  const scope = (): Scope => {
    const hooks: Array<() => void> = [];
    const events: ShopEvent[] = [];
    return {
      ...deps.data,
      hooks,
      emit: (e) => {
        const row = deps.appendEvent(e);
        if (events.length === 0) hooks.unshift(() => events.forEach(deps.publish));
        events.push(row);
        return row;
      },
      afterCommit: (f) => void hooks.push(f),
    };
  };

  const runHooks = (hooks: Array<() => void>) => {
    for (const h of hooks) {
      try {
        h();
      } catch (err) {
        deps.onHookError(err);
      }
    }
  };

  /** Runs fn in a savepoint of the open transaction with its own scope. */
  const inSavepoint = <T>(fn: (tx: Tx) => T, own: Scope): T => {
    const outer = current;
    current = own;
    try {
      savepoint.run();
      try {
        const value = fn(own);
        release.run();
        return value;
      } catch (err) {
        // Some errors (disk full, I/O) end the whole transaction: then there is no savepoint left.
        if (sqlite.inTransaction) {
          rollbackTo.run();
          release.run();
        }
        throw err;
      }
    } finally {
      current = outer;
    }
  };

  const rollbackQuietly = () => {
    if (sqlite.inTransaction) rollback.run();
  };

  const schedule = (delayMs: number) => {
    scheduled = true;
    if (delayMs <= 0) setImmediate(flush);
    else setTimeout(flush, delayMs);
  };

  function flush() {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      begin.run();
    } catch (err) {
      if (!isBusy(err)) {
        const mapped = deps.faults.report(err, 'begin') ?? err;
        for (const item of batch) item.reject(mapped);
        return;
      }
      // Another connection holds the write lock: wait without blocking, each command until its deadline.
      const now = clock();
      for (const item of batch) {
        if (item.deadline <= now) item.reject(deps.faults.report(err, 'lock wait') ?? unavailable());
        else pending.push(item);
      }
      if (pending.length > 0) {
        const nearest = Math.min(...pending.map((p) => p.deadline)) - now;
        schedule(Math.max(1, Math.min(retryMs, nearest)));
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
      return;
    }
    retryMs = FIRST_RETRY_MS;
    const outcomes: Array<{ ok: true; value: unknown; hooks: Array<() => void> } | { ok: false; err: unknown }> = [];
    for (const item of batch) {
      const own = scope();
      try {
        outcomes.push({ ok: true, value: inSavepoint(item.fn, own), hooks: own.hooks });
      } catch (err) {
        if (sqlite.inTransaction) {
          outcomes.push({ ok: false, err });
          continue;
        }
        // SQLite ended the whole transaction (disk full, I/O error): the commands before this one
        // are undone with it, and the rest must not run outside a transaction, each committing
        // alone. None of the group is stored, so each is told so (503, retry).
        const mapped = deps.faults.report(err, 'command') ?? unavailable();
        for (const each of batch) each.reject(mapped);
        if (pending.length > 0 && !scheduled) schedule(0);
        return;
      }
    }
    try {
      commit.run();
    } catch (err) {
      rollbackQuietly();
      const mapped = deps.faults.report(err, 'commit') ?? err;
      for (const item of batch) item.reject(mapped);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (!outcome) {
        item.reject(new Error('command lost'));
      } else if (!outcome.ok) {
        item.reject(deps.faults.report(outcome.err, 'command') ?? outcome.err);
      } else {
        runHooks(outcome.hooks);
        item.resolve(outcome.value);
      }
    });
    if (pending.length > 0 && !scheduled) schedule(0);
  }

  return {
    run: <T>(fn: (tx: Tx) => T) =>
      new Promise<T>((resolve, reject) => {
        pending.push({ fn, resolve: resolve as (v: unknown) => void, reject, deadline: clock() + deps.writeWaitMs });
        if (!scheduled) schedule(0);
      }),
    runNow: <T>(fn: (tx: Tx) => T): T => {
      // Called from inside a running command: it becomes part of that command.
      if (current) return inSavepoint(fn, current);
      const own = scope();
      try {
        begin.run();
      } catch (err) {
        throw deps.faults.report(err, 'begin') ?? err;
      }
      let value: T;
      try {
        value = inSavepoint(fn, own);
        commit.run();
      } catch (err) {
        rollbackQuietly();
        throw deps.faults.report(err, 'command') ?? err;
      }
      runHooks(own.hooks);
      return value;
    },
  };
}
