import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Tx } from '../src/db/command.ts';
import { openStore, type Store } from '../src/db/store.ts';
import { AppError } from '../src/errors.ts';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-gc-'));
  store = openStore(path.join(dir, 'g.db'), 1, { writeWaitMs: 50 });
  store.sqlite.exec('CREATE TABLE t (v INTEGER NOT NULL UNIQUE)');
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const values = () => (store.sqlite.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: number }>).map((r) => r.v);
const insert = (v: number) => () => store.sqlite.prepare('INSERT INTO t (v) VALUES (?)').run(v).changes;

describe('group commit', () => {
  it('commits the commands of one turn together, rolling back only the one that fails', async () => {
    const results = await Promise.allSettled([store.command(insert(1)), store.command(insert(2)), store.command(insert(1)), store.command(insert(3))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(values()).toEqual([1, 2, 3]);
  });

  it('runs after-commit hooks only for commands that committed, and only after the commit', async () => {
    const seen: string[] = [];
    const withHook = (v: number, label: string) => (tx: Tx) => {
      insert(v)();
      tx.afterCommit(() => {
        // The row is visible to another connection: the hook runs after COMMIT.
        const other = new Sqlite(path.join(dir, 'g.db'), { readonly: true });
        const n = (other.prepare('SELECT count(*) AS n FROM t WHERE v = ?').get(v) as { n: number }).n;
        other.close();
        seen.push(`${label}:${n}`);
      });
      if (label === 'bad') throw new Error('refused after the hook was registered');
    };
    await Promise.allSettled([store.command(withHook(10, 'ok')), store.command(withHook(11, 'bad'))]);
    expect(seen).toEqual(['ok:1']);
    expect(values()).toEqual([10]);
  });

  it('rejects every command of the batch with UNAVAILABLE when the commit cannot happen', async () => {
    const other = new Sqlite(path.join(dir, 'g.db'));
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const results = await Promise.allSettled([store.command(insert(1)), store.command(insert(2))]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AppError);
        expect(((r as PromiseRejectedResult).reason as AppError).code).toBe('UNAVAILABLE');
      }
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(values()).toEqual([]);
  });

  it('stores none of the group and answers each UNAVAILABLE when a full disk ends the whole transaction', async () => {
    // One value larger than a page: SQLite answers SQLITE_FULL and rolls back the whole transaction.
    store.sqlite.exec('CREATE TABLE blobs (b TEXT)');
    const big = () => store.sqlite.prepare('INSERT INTO blobs (b) VALUES (?)').run('x'.repeat(50_000)).changes;
    const hooks: number[] = [];
    const withHook = (v: number) => (tx: Tx) => {
      insert(v)();
      tx.afterCommit(() => hooks.push(v));
    };
    store.sqlite.pragma(`max_page_count = ${store.sqlite.pragma('page_count', { simple: true }) as number}`);
    const results = await Promise.allSettled([store.command(withHook(1)), store.command(big), store.command(withHook(2))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as AppError).code).toBe('UNAVAILABLE');
    }
    expect(values()).toEqual([]);
    expect(hooks).toEqual([]);
    expect(store.sqlite.inTransaction).toBe(false);
    // Space again: the runner goes on with the next group.
    store.sqlite.pragma('max_page_count = 1073741823');
    await expect(store.command(withHook(3))).resolves.toBeUndefined();
    expect(values()).toEqual([3]);
    expect(hooks).toEqual([3]);
  });
});
