import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachingClient } from '../src/db/connection.ts';
import { openStore, type Store } from '../src/db/store.ts';
import { makeGateway } from './helpers/app.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the statement cache drizzle goes through', () => {
  it('reuses a statement per SQL text, hands it back in default mode, and evicts the least recently used', () => {
    const sqlite = new Sqlite(':memory:');
    try {
      sqlite.exec("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x')");
      const client = cachingClient(sqlite, 2);
      const first = client.prepare('SELECT a, b FROM t');
      expect(client.prepare('SELECT a, b FROM t')).toBe(first);
      // drizzle switches a statement into raw mode per call; the next user gets objects again.
      expect(first.raw(true).get()).toEqual([1, 'x']);
      expect(client.prepare('SELECT a, b FROM t').get()).toEqual({ a: 1, b: 'x' });
      client.prepare('SELECT a FROM t');
      client.prepare('SELECT b FROM t');
      expect(client.prepare('SELECT a, b FROM t')).not.toBe(first);
      // Everything but prepare is the real connection.
      expect(client.transaction(() => client.pragma('foreign_keys', { simple: true }))()).toBe(sqlite.pragma('foreign_keys', { simple: true }));
      expect(sqlite.prepare('SELECT a, b FROM t')).not.toBe(first);
    } finally {
      sqlite.close();
    }
  });
});

describe('state built once per store', () => {
  let a: Store;
  let b: Store;
  beforeEach(() => {
    a = openStore(path.join(dir, 'a.db'), 1);
    b = openStore(path.join(dir, 'b.db'), 2);
  });
  afterEach(() => {
    a.close();
    b.close();
  });

  it('prepares its data access once per store and never shares it between stores', () => {
    const user = { id: 7, username: 'ada', passwordHash: 'x', role: 'worker' as const, active: true, createdAt: 1, updatedAt: 1 };
    a.commandNow((tx) => tx.users.insert(user));
    expect(a.data).toBe(a.data);
    expect(a.data).not.toBe(b.data);
    expect(a.data.users.byId(7)).toMatchObject({ username: 'ada', active: true });
    expect(b.data.users.byId(7)).toBeUndefined();
  });
});

describe('the session cache', () => {
  it('is installed when the context is built, before any request', () => {
    const gw = makeGateway();
    try {
      const triggers = gw.ctx.store.sqlite.prepare("SELECT name FROM sqlite_temp_master WHERE type = 'trigger' ORDER BY name").all() as Array<{ name: string }>;
      expect(triggers.map((t) => t.name)).toEqual(['gw_sessions_delete_auth', 'gw_sessions_update_auth', 'gw_users_delete_auth', 'gw_users_update_auth']);
    } finally {
      gw.close();
    }
  });
});
