import type { Database } from 'better-sqlite3';
import { storageError } from '../errors.ts';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Group commit of commands, plus hooks that run only after the commit that carries them. */
export interface GroupCommit {
  /** Queues fn; all commands queued in one event-loop turn share one IMMEDIATE transaction. */
  command<T>(fn: () => T): Promise<T>;
  /** Runs f after the current command's transaction commits (at once outside a command batch). */
  afterCommit(f: () => void): void;
}

/**
 * With synchronous=FULL every commit costs an fsync, and one fsync per HTTP write caps the floor
 * at the disk's fsync rate. Commands that arrive together run one after another inside one
 * transaction, each in its own savepoint (a failing command rolls back alone and gets its own
 * error), and are acknowledged only after that single commit. Same isolation as before: the
 * commands still run strictly in order on the one connection.
 */
export function createGroupCommit(sqlite: Database, onHookError: (err: unknown) => void): GroupCommit {
  let pending: Pending[] = [];
  let scheduled = false;
  let hooks: Array<() => void> | undefined;

  const runHooks = (list: Array<() => void>) => {
    for (const h of list) {
      try {
        h();
      } catch (err) {
        onHookError(err);
      }
    }
  };

  const flush = () => {
    scheduled = false;
    const batch = pending;
    pending = [];
    const outcomes: Array<{ ok: true; value: unknown; hooks: Array<() => void> } | { ok: false; err: unknown }> = [];
    try {
      sqlite
        .transaction(() => {
          for (const item of batch) {
            const own: Array<() => void> = [];
            hooks = own;
            try {
              // Nested: better-sqlite3 runs it in a savepoint and rolls only it back on throw.
              outcomes.push({ ok: true, value: sqlite.transaction(item.fn)(), hooks: own });
            } catch (err) {
              outcomes.push({ ok: false, err });
            } finally {
              hooks = undefined;
            }
          }
        })
        .immediate();
    } catch (err) {
      const mapped = storageError(err) ?? err;
      for (const item of batch) item.reject(mapped);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (!outcome) {
        item.reject(new Error('command lost'));
      } else if (!outcome.ok) {
        item.reject(storageError(outcome.err) ?? outcome.err);
      } else {
        runHooks(outcome.hooks);
        item.resolve(outcome.value);
      }
    });
  };

  return {
    command: <T>(fn: () => T) =>
      new Promise<T>((resolve, reject) => {
        pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    afterCommit: (f) => {
      if (hooks) hooks.push(f);
      else runHooks([f]);
    },
  };
}
