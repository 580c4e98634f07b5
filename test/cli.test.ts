import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../src/modules/auth/password.ts';
import { BIN, ROOT } from './helpers/child.ts';

// `gateway …` as the operator runs it: bin/gateway.js, a process per command. A loaded CI machine
// needs far longer than the in-process tests' 30 s (nothing here measures speed).
const SLOW = { timeout: 180_000 };

interface Run {
  /** Exit status; null when the command had to be killed (it did not stop by itself). */
  status: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /**
   * Run without the capabilities that let root ignore permission bits (CAP_DAC_OVERRIDE,
   * CAP_DAC_READ_SEARCH), through util-linux's setpriv: root then gets "permission denied" like
   * any user, wherever node and the checkout live (running as nobody needed both readable).
   */
  withoutDacOverride?: boolean;
}

let dir: string;
let env: Record<string, string>;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
  env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_PATH: path.join(dir, 'data', 'gateway.db'),
    CONFIG_DIR: path.join(dir, 'config'),
    JWT_SECRET: 'test-secret-that-is-at-least-32-bytes-long!!',
    SITE_ID: '5',
    HOST: '127.0.0.1',
    PORT: '0',
  };
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** bin/gateway.js says so on stderr when it rebuilds dist/ (another change to the sources). */
const BUILD_NOTE = /^building dist\/ from the TypeScript sources …\n/gm;

/** Runs `gateway …` to completion, or kills it after timeoutMs. */
function gateway(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const command = opts.withoutDacOverride
      ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, BIN, ...args]
      : [process.execPath, BIN, ...args];
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env, ...opts.env },
      stdio: 'pipe',
    });
    // A command that cannot be started at all ends the run too, instead of waiting for 'close'.
    child.on('error', (err) => {
      stderr += `${err.message}\n`;
    });
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr: stderr.replace(BUILD_NOTE, '') });
    });
  });
}

/** Runs the commands a few at a time (each is a node process). */
async function each<T, R>(items: T[], run: (item: T) => Promise<R>, width = 6): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(run))));
  return out;
}

/** The answer of a refusal: exactly one line on stderr, no stack trace. */
function expectOneLine(res: Run, pattern: RegExp | string, status = 1): void {
  expect(res.stderr.trimEnd().split('\n'), res.stderr).toHaveLength(1);
  expect(res.stderr).toMatch(pattern);
  expect(res.status, res.stderr).toBe(status);
}

function count(file: string, table: string): number {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const db = () => env.DATABASE_PATH as string;

const COMMANDS = [
  [],
  ['serve'],
  ['migrate'],
  ['user'],
  ['user', 'create'],
  ['seed'],
  ['backup'],
  ['restore'],
  ['import-legacy'],
  ['hash-password'],
  ['hq'],
  ['hq', 'migrate'],
  ['hq', 'add-site'],
  ['hq', 'prune-changes'],
  ['sync'],
  ['sync', 'status'],
  ['sync', 'now'],
  ['sync', 'restore'],
];

describe('help', SLOW, () => {
  it('--help and -h print the help of every command and subcommand to stdout, exit 0 and do nothing else', async () => {
    const runs = COMMANDS.flatMap((cmd) => [
      [...cmd, '--help'],
      [...cmd, '-h'],
    ]);
    // A command that ignores --help does its work instead: serve would listen until killed.
    const results = await each(runs, (args) => gateway(args, { input: 'a-password-123\n', timeoutMs: 30_000 }));
    runs.forEach((args, i) => {
      const res = results[i] as Run;
      const label = `gateway ${args.join(' ')}`;
      expect(res.stderr, label).toBe('');
      expect(res.stdout, label).toContain(`Usage: gateway ${args.slice(0, -1).join(' ')}`);
      expect(res.stdout, label).not.toMatch(/scrypt\$|migrations applied|created/);
      expect(res.status, label).toBe(0);
    });
    expect(existsSync(db()), 'a --help created the database').toBe(false);
  });

  it('gateway --help lists every command and the exit statuses', async () => {
    const res = await gateway(['--help']);
    for (const name of ['serve', 'migrate', 'user', 'seed', 'backup', 'restore', 'import-legacy', 'hash-password', 'hq', 'sync']) {
      expect(res.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
    expect(res.stdout).toMatch(/exit status/i);
    const hq = await gateway(['hq', '--help']);
    expect(hq.stdout).toMatch(/add-site \[options\] <N>/);
    expect(hq.stdout).toMatch(/prune-changes/);
  });

  it('--version prints the version from package.json', async () => {
    const res = await gateway(['--version']);
    expect(res.stdout).toBe(`${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
    expect(res.status).toBe(0);
  });
});

describe('usage errors', SLOW, () => {
  it('an unknown command or option is one line naming it, then the usage, on stderr, exit 2', async () => {
    const [unknownCommand, unknownOption, unknownSub, unknownHq] = await Promise.all([
      gateway(['frob']),
      gateway(['user', 'create', '--usernme', 'x']),
      gateway(['user', 'delete']),
      gateway(['hq', 'frob']),
    ]);
    for (const [res, name, usage] of [
      [unknownCommand, "'frob'", 'Usage: gateway [options] [command]'],
      [unknownOption, "'--usernme'", 'Usage: gateway user create'],
      [unknownSub, "'delete'", 'Usage: gateway user'],
      [unknownHq, "'frob'", 'Usage: gateway hq'],
    ] as const) {
      const [first, ...rest] = res.stderr.split('\n');
      expect(first).toMatch(/^error: unknown (command|option) /);
      expect(first).toContain(name);
      expect(rest.join('\n')).toContain(usage);
      expect(res.stderr).not.toMatch(/^\s+at /m);
      expect(res.stdout).toBe('');
      expect(res.status).toBe(2);
    }
    expect(existsSync(db())).toBe(false);
  });

  it('a missing command, subcommand or argument prints the usage, exit 2', async () => {
    const [none, user, backup, extra] = await Promise.all([gateway([]), gateway(['user']), gateway(['backup']), gateway(['backup', 'a.db', 'b.db'])]);
    expect(none.stderr).toContain('Usage: gateway [options] [command]');
    expect(user.stderr).toContain('Usage: gateway user');
    expect(backup.stderr).toMatch(/^error: missing required argument 'file'\n/);
    expect(backup.stderr).toContain('Usage: gateway backup');
    expect(extra.stderr).toMatch(/^error: too many arguments/);
    for (const res of [none, user, backup, extra]) {
      expect(res.stdout).toBe('');
      expect(res.status).toBe(2);
    }
  });

  it('a bad value of a known option keeps its one-line message and exit 1', async () => {
    const role = await gateway(['user', 'create', '--username', 'lead', '--role', 'king']);
    expectOneLine(role, /^--role: must be one of /);
    const name = await gateway(['user', 'create', '--username', 'x', '--role', 'worker']);
    expectOneLine(name, /^--username: must be 3–64 characters/);
  });
});

describe('gateway seed', SLOW, () => {
  it('is idempotent: a second run adds nothing, says so and prints no passwords', async () => {
    const first = await gateway(['seed']);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/worker1\s+worker\s+\S{24}$/m);
    const counts = () => ['users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments'].map((t) => count(db(), t));
    const after = counts();
    expect(after.slice(0, 3)).toEqual([5, 2, 3]);

    const second = await gateway(['seed']);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/nothing added/);
    expect(second.stdout).not.toMatch(/^\s+\S+\s+\S+\s+\S{24}$/m);
    expect(counts()).toEqual(after);
  });
});

const PTY_RUN = path.join(ROOT, 'test', 'helpers', 'pty-run.py');

/** A `gateway` command at a terminal: types each answer after its prompt (pty-run.py). */
function atTerminal(answers: string[], command: string[] = ['hash-password']) {
  const prompts = ['password: ', 'repeat password: '];
  const args = answers.flatMap((a, i) => [prompts[i] as string, a]);
  return spawnSync('python3', [PTY_RUN, '20', ...args, '--', process.execPath, BIN, ...command], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 90_000,
  });
}

describe('gateway hash-password', SLOW, () => {
  it('at a terminal asks twice without echo and prints a hash that verifies', async () => {
    const password = 'typed-secret-4711';
    const res = atTerminal([password, password]);
    expect(res.stdout).not.toContain(password);
    expect(res.status, res.stdout).toBe(0);
    const hash = /scrypt\$\S+/.exec(res.stdout)?.[0] ?? '';
    expect(await createPasswordHasher().verify(password, hash)).toBe(true);
  });

  it('at a terminal refuses two different entries', () => {
    const res = atTerminal(['typed-secret-4711', 'typed-secret-4712']);
    expect(res.stdout).toMatch(/passwords do not match/);
    expect(res.stdout).not.toMatch(/scrypt\$|typed-secret/);
    expect(res.status).toBe(1);
  });

  it('user create --password-stdin at a terminal asks twice without echo too', () => {
    const password = 'typed-user-secret-4711';
    const res = atTerminal([password, password], ['user', 'create', '--username', 'typist', '--role', 'worker', '--password-stdin']);
    expect(res.stdout).not.toContain(password);
    expect(res.stdout).toMatch(/created user typist/);
    expect(res.status, res.stdout).toBe(0);
  });

  it('ends quietly when the reader of its output goes away (gateway … | true)', () => {
    const res = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" --help | true`], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(res.stderr).not.toMatch(/EPIPE|Error/);
    expect(res.status).toBe(0);
  });

  it('reads a piped password as before', async () => {
    const res = await gateway(['hash-password'], { input: 'piped-secret-123\n' });
    expect(res.status).toBe(0);
    expect(res.stderr).toBe('');
    expect(await createPasswordHasher().verify('piped-secret-123', res.stdout.trim())).toBe(true);
  });
});

/** Every command that opens the database, with what it needs besides. */
const OPENING = (legacy: string, backup: string) => [
  ['serve'],
  ['migrate'],
  ['user', 'create', '--username', 'lead', '--role', 'planner'],
  ['seed'],
  ['import-legacy', legacy],
  ['sync', 'status'],
  ['backup', backup],
];

describe('errors opening the database', SLOW, () => {
  it('a path through a file: every command names the database and the file in one line, exit 1', async () => {
    writeFileSync(path.join(dir, 'data'), 'a file where the data folder should be');
    const results = await each(OPENING(path.join(dir, 'legacy.db'), path.join(dir, 'b.db')), (args) => gateway(args, { timeoutMs: 30_000 }));
    for (const res of results) expectOneLine(res, `cannot open database ${db()}: ${path.join(dir, 'data')} is a file, not a folder`);
    const deeper = await gateway(['migrate'], { env: { DATABASE_PATH: path.join(dir, 'data', 'site', 'gateway.db') } });
    expectOneLine(deeper, `cannot open database ${path.join(dir, 'data', 'site', 'gateway.db')}: ${path.join(dir, 'data')} is a file, not a folder`);
  });

  it('a file that is not a database, or a folder: one line, exit 1', async () => {
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(db(), 'this is not SQLite, and long enough to have a header page of its own........');
    const results = await each([['serve'], ['migrate'], ['seed']], (args) => gateway(args, { timeoutMs: 30_000 }));
    for (const res of results) expectOneLine(res, `cannot open database ${db()}: it is not an SQLite database`);
    const folder = await gateway(['migrate'], { env: { DATABASE_PATH: path.join(dir, 'data') } });
    expectOneLine(folder, `cannot open database ${path.join(dir, 'data')}: it is a folder`);
  });

  it('a database another process holds locked: one line, exit 1', async () => {
    expect((await gateway(['migrate'])).status).toBe(0);
    const holder = spawn(
      process.execPath,
      [
        '-e',
        "const d = new (require('better-sqlite3'))(process.argv[1]); d.pragma('locking_mode = EXCLUSIVE'); d.exec('BEGIN EXCLUSIVE'); d.prepare('SELECT count(*) FROM users').get(); console.log('held'); setInterval(() => {}, 1000);",
        db(),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(holder);
    await new Promise((resolve) => holder.stdout?.once('data', resolve));
    const results = await each([['serve'], ['migrate'], ['user', 'create', '--username', 'lead', '--role', 'planner']], (args) =>
      gateway(args, { timeoutMs: 30_000 }),
    );
    for (const res of results) expectOneLine(res, `cannot open database ${db()}: locked by another process`);
  });

  it('a second gateway on the same database: one line, exit 1', async () => {
    const first = spawn(process.execPath, [BIN, 'serve'], {
      cwd: ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(first);
    await new Promise<void>((resolve) => {
      let out = '';
      first.stdout?.on('data', (c) => {
        out += c;
        if (out.includes('gateway listening')) resolve();
      });
    });
    const second = await gateway(['serve'], { timeoutMs: 30_000 });
    expectOneLine(second, `cannot open database ${db()}: a gateway (or a restore) is running on it`);
  });

  // As root, chmod denies nothing: the gateway then runs without root's DAC override.
  const asRoot = process.getuid?.() === 0;
  const user = { withoutDacOverride: asRoot };

  it('permission denied, and a missing folder that cannot be created: one line, exit 1', async () => {
    chmodSync(dir, 0o755);
    const locked = path.join(dir, 'locked');
    mkdirSync(locked);
    expect((await gateway(['migrate'], { env: { DATABASE_PATH: path.join(locked, 'own.db') } })).status).toBe(0);
    chmodSync(path.join(locked, 'own.db'), 0o000);
    chmodSync(locked, 0o555);

    const unreadable = await gateway(['migrate'], { ...user, env: { DATABASE_PATH: path.join(locked, 'own.db') } });
    expectOneLine(unreadable, `cannot open database ${path.join(locked, 'own.db')}: permission denied`);
    const uncreatable = await gateway(['migrate'], { ...user, env: { DATABASE_PATH: path.join(locked, 'new.db') } });
    expectOneLine(uncreatable, `cannot open database ${path.join(locked, 'new.db')}: permission denied (cannot create files in ${locked})`);
    const noFolder = path.join(locked, 'data', 'gateway.db');
    const results = await each([['serve'], ['migrate'], ['seed']], (args) => gateway(args, { ...user, env: { DATABASE_PATH: noFolder }, timeoutMs: 30_000 }));
    for (const res of results) {
      expectOneLine(res, `cannot open database ${noFolder}: folder ${path.join(locked, 'data')} does not exist and cannot be created (permission denied)`);
    }
  });
});

describe('gateway backup', SLOW, () => {
  it('refuses to overwrite a file without --force, changing nothing', async () => {
    expect((await gateway(['migrate'])).status).toBe(0);
    const file = path.join(dir, 'nightly.db');
    expect((await gateway(['backup', file])).status).toBe(0);
    const first = readFileSync(file);
    expect((await gateway(['user', 'create', '--username', 'lead', '--role', 'planner'])).status).toBe(0);

    const again = await gateway(['backup', file]);
    expectOneLine(again, `${file} exists; pass --force to overwrite it`);
    expect(again.stdout).toBe('');
    expect(readFileSync(file).equals(first)).toBe(true);

    const forced = await gateway(['backup', file, '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.status).toBe(0);
    expect(count(file, 'users')).toBe(1);
  });
});

describe('gateway import-legacy', SLOW, () => {
  it('refuses a file that is not the FastAPI backend database in one line, importing nothing', async () => {
    // A gateway backup has every legacy table and column the importer reads, and more.
    expect((await gateway(['seed'], { env: { DATABASE_PATH: path.join(dir, 'other', 'gateway.db') } })).status).toBe(0);
    const backup = path.join(dir, 'gateway-backup.db');
    expect((await gateway(['backup', backup], { env: { DATABASE_PATH: path.join(dir, 'other', 'gateway.db') } })).status).toBe(0);
    const notSqlite = path.join(dir, 'notes.txt');
    writeFileSync(notSqlite, 'not a database at all, but long enough for SQLite to read a header from it ..........');
    const empty = path.join(dir, 'empty.db');
    writeFileSync(empty, '');
    const unrelated = path.join(dir, 'unrelated.db');
    new Sqlite(unrelated).exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)').close();

    // One at a time: the first opening of a database migrates it, and does not wait for another.
    const [fromBackup, fromText, fromEmpty, fromUnrelated] = await each([backup, notSqlite, empty, unrelated], (file) => gateway(['import-legacy', file]), 1);
    expectOneLine(fromBackup as Run, `import-legacy: ${backup} is a gateway database, not the FastAPI backend's`);
    expectOneLine(fromText as Run, `import-legacy: ${notSqlite} is not a readable SQLite database`);
    expectOneLine(fromEmpty as Run, `import-legacy: ${empty} is not a database of the FastAPI backend: missing table users`);
    expectOneLine(fromUnrelated as Run, `import-legacy: ${unrelated} is not a database of the FastAPI backend: missing table users`);
    expect(count(db(), 'users') + count(db(), 'work_orders')).toBe(0);
  });
});
