import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/db/store.ts';
import { backupDatabase, OpsError } from '../src/modules/backup/backup.ts';
import { restoreDatabase } from '../src/modules/backup/restore.ts';
import { listeningGateway } from './helpers/app.ts';
import { ROOT, runCli, startServe } from './helpers/child.ts';
import { freePort, until } from './helpers/server.ts';

let dir: string;
let env: Record<string, string>;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-backup-'));
  env = { NODE_ENV: 'development', DATABASE_PATH: path.join(dir, 'g.db'), LOG_LEVEL: 'info', CONFIG_DIR: path.join(dir, 'config'), SITE_ID: '3' };
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function count(file: string, sql: string): number {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A migrated gateway database of `site` with the given users added (no hashing: fast). */
function gatewayDb(file: string, site: number, names: string[]): string {
  const store = openStore(file, site);
  for (const name of names) {
    store.sqlite
      .prepare("INSERT INTO users (id, username, password_hash, role, active, created_at, updated_at) VALUES (?, ?, 'x', 'worker', 1, 0, 0)")
      .run(store.ids.next('users'), name);
  }
  store.close();
  return file;
}

const usernames = (file: string) => {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare('SELECT username FROM users ORDER BY username').all() as Array<{ username: string }>).map((r) => r.username);
  } finally {
    db.close();
  }
};

// A second process inserting readings as fast as it can, each row its own transaction.
const WRITER = `
const Sqlite = require('better-sqlite3');
const db = new Sqlite(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const ins = db.prepare("INSERT INTO machine_readings (id, machine_id, reading_type, value, quality, source_ts, recorded_at) VALUES (?, 1, 'temperature', ?, 'good', ?, ?)");
for (let i = 1; ; i++) ins.run(i, Math.random() * 100, Date.now(), Date.now());
`;

describe('gateway backup', () => {
  it('copies a database while another process writes to it continuously; the copy passes integrity_check', async () => {
    const db = gatewayDb(env.DATABASE_PATH as string, 3, []);
    const writer = spawn(process.execPath, ['-e', WRITER, db], { cwd: ROOT, stdio: 'ignore' });
    children.push(writer);
    const readings = 'SELECT count(*) AS n FROM machine_readings';
    await until(() => count(db, readings) > 2000, 90_000);

    const file = path.join(dir, 'nightly.db');
    const res = runCli(['backup', file], env);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('integrity_check ok');

    const copy = new Sqlite(file, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    const copied = (copy.prepare(readings).get() as { n: number }).n;
    const site = copy.prepare("SELECT value FROM gateway_meta WHERE key = 'site_id'").get() as { value: string };
    copy.close();
    expect(site.value).toBe('3');
    expect(copied).toBeGreaterThan(2000);
    // The writer was never blocked: it kept going past what the copy holds.
    await until(() => count(db, readings) > copied + 1000, 90_000);
    expect(existsSync(file)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  }, 180_000);

  it('refuses a missing database or folder, changing nothing', async () => {
    await expect(backupDatabase(path.join(dir, 'g.db'), path.join(dir, 'x.db'))).rejects.toThrow('no database');
    const db = gatewayDb(path.join(dir, 'g.db'), 3, ['a']);
    await expect(backupDatabase(db, path.join(dir, 'missing', 'x.db'))).rejects.toThrow('does not exist');
    await expect(backupDatabase(db, db)).rejects.toThrow(OpsError);
    expect(readdirSync(dir).sort()).toEqual(['g.db', 'g.db-shm', 'g.db-wal'].filter((f) => existsSync(path.join(dir, f))));
  });
});

describe('gateway restore', () => {
  it('refuses while a gateway runs on the database, works after the gateway was SIGKILLed, and keeps the old database', async () => {
    const db = gatewayDb(env.DATABASE_PATH as string, 3, ['before']);
    const file = path.join(dir, 'b.db');
    await backupDatabase(db, file);
    gatewayDb(db, 3, ['after']);

    const { child } = await startServe({ ...env, PORT: String(await freePort()), HOST: '127.0.0.1' });
    children.push(child);
    const refused = runCli(['restore', file], env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/gateway .*is running on/);
    expect(usernames(db)).toEqual(['after', 'before']);

    // No clean shutdown: the lock must not outlive the process.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const res = runCli(['restore', file], env);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(usernames(db)).toEqual(['before']);
    const kept = readdirSync(dir).find((f) => f.startsWith('g.db.before-restore-'));
    expect(kept).toBeDefined();
    expect(usernames(path.join(dir, kept ?? ''))).toEqual(['after', 'before']);
    // The restored database opens as this site's and passes integrity_check.
    const store = openStore(db, 3);
    expect(store.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    store.close();
  }, 180_000);

  it('refuses while an in-process gateway holds the lock, and a second gateway on the same database', async () => {
    const file = path.join(dir, 'b.db');
    await backupDatabase(gatewayDb(path.join(dir, 'gateway.db'), 1, ['x']), file);
    const { gw } = await listeningGateway(dir);
    try {
      await expect(restoreDatabase(path.join(dir, 'gateway.db'), 1, file)).rejects.toThrow(/is running on/);
      await expect(listeningGateway(dir)).rejects.toThrow(/is running on/);
    } finally {
      await gw.stop();
    }
    await expect(restoreDatabase(path.join(dir, 'gateway.db'), 1, file)).resolves.toBeDefined();
  });

  it('refuses a backup of another site, a damaged file and a file that is not a database, changing nothing', async () => {
    const db = gatewayDb(env.DATABASE_PATH as string, 3, ['mine']);
    const foreign = path.join(dir, 'foreign.db');
    await backupDatabase(gatewayDb(path.join(dir, 'other', 'g.db'), 5, ['theirs']), foreign);
    await expect(restoreDatabase(db, 3, foreign)).rejects.toThrow('belongs to site 5');

    const own = path.join(dir, 'own.db');
    await backupDatabase(db, own);
    const damaged = path.join(dir, 'damaged.db');
    copyFileSync(own, damaged);
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4096 * 2);
    closeSync(fd);
    await expect(restoreDatabase(db, 3, damaged)).rejects.toThrow(/integrity_check|not a readable/);

    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'not a database at all, just some words that fill more than a header would. '.repeat(20));
    await expect(restoreDatabase(db, 3, text)).rejects.toThrow(OpsError);
    await expect(restoreDatabase(db, 3, path.join(dir, 'nope.db'))).rejects.toThrow('no database');

    expect(usernames(db)).toEqual(['mine']);
    expect(readdirSync(dir).filter((f) => f.includes('before-restore'))).toEqual([]);
  });
});
