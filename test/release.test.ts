import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.ts';
import { freePort } from './helpers/server.ts';
import { parseEnvironmentFile, parseUnit, single, type Unit, unitEnvironment } from './helpers/systemd.ts';

// The systemd install and upgrade of docs/operations.md, end to end without systemd: the release
// tarball built by `npm run release` in a fresh copy of the checkout (the working tree is not
// written), unpacked and installed with `npm ci --omit=dev` under a
// temporary prefix that stands for `/` (so /opt/edge-gateway is <prefix>/opt/edge-gateway), and
// the gateway started exactly as edge-gateway.service starts it: its Environment= lines and
// EnvironmentFile (the shipped gateway.env.example, filled in as an operator would), its
// WorkingDirectory and ExecStart, the unit read from the unpacked release so that the unit, the
// template and the docs cannot drift apart unnoticed. The release is read-only while it runs;
// tests may run as root, where permission bits stop nothing, so every file's mtime and size is
// compared as well. Slow: one `npm ci` compiles better-sqlite3 (about a minute on two cores).

/** systemd's PATH for services; nothing else of the test's environment reaches the gateway. */
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const OPERATIONS = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NEXT_VERSION = VERSION.replace(/\d+$/, (n) => String(Number(n) + 1));
const ADMIN_PASSWORD = 'first-admin-password-of-this-site';

let prefix: string;
/** A path of the box under the test's prefix. */
const at = (p: string) => path.join(prefix, p);
/** An absolute path of the box (under /opt, /etc or /var) in a shell command, moved under the prefix. */
const mapShell = (cmd: string) => cmd.replaceAll('/usr/bin/node', process.execPath).replace(/(^|[\s'"])(\/(?:opt|etc|var)\/)/g, `$1${prefix}$2`);
const children: ChildProcess[] = [];

interface Run {
  status: number | null;
  output: string;
}

/** Runs a command to completion without blocking the test's event loop (npm ci takes a minute). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (c) => {
      output += c;
    });
    child.stderr?.on('data', (c) => {
      output += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Every entry under `dir` with its mtime, size and mode: what a write, create or delete changes. */
function listing(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const stat = lstatSync(path.join(dir, rel));
    out.set(rel, `${stat.mtimeMs} ${stat.size} ${stat.mode}`);
    if (stat.isDirectory()) for (const name of readdirSync(path.join(dir, rel))) walk(path.join(rel, name));
  };
  walk('.');
  return out;
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name));
}

/** The service's environment: the unit's Environment= lines, then the EnvironmentFile, which overrides them. */
function serviceEnv(unit: Unit): NodeJS.ProcessEnv {
  const file = parseEnvironmentFile(readFileSync(at(single(unit, 'Service.EnvironmentFile')), 'utf8'));
  const env: NodeJS.ProcessEnv = { PATH: SYSTEMD_PATH };
  for (const [key, value] of Object.entries({ ...unitEnvironment(unit), ...file })) env[key] = value.startsWith('/') ? at(value) : value;
  return env;
}

/** A one-shot run of the unit's ExecStart (`node <script> <args>`) with `args` instead of the unit's. */
function runAsUnit(unit: Unit, args?: string[]): Promise<Run> {
  const [node, script, ...unitArgs] = single(unit, 'Service.ExecStart').split(/\s+/);
  expect(node).toBe('/usr/bin/node');
  return run(process.execPath, [at(script ?? ''), ...(args ?? unitArgs)], { cwd: at(single(unit, 'Service.WorkingDirectory')), env: serviceEnv(unit) });
}

/** Starts the unit's ExecStart and resolves once /ready answers 200. */
async function startService(unit: Unit, port: number) {
  const [, script, ...args] = single(unit, 'Service.ExecStart').split(/\s+/);
  const child = spawn(process.execPath, [at(script ?? ''), ...args], {
    cwd: at(single(unit, 'Service.WorkingDirectory')),
    env: serviceEnv(unit),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c) => {
    output += c;
  });
  child.stderr?.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const end = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (gone || Date.now() > end) throw new Error(`the service did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function login(port: number, username: string, password: string) {
  const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as { data: { access_token: string; user: { role: string } } } };
}

/**
 * A fresh clone after `npm ci` at `version`: the repository's files without dist/ (node_modules
 * linked), so the release build runs from scratch and nothing is written into the working tree.
 */
function checkout(dir: string, version: string): string {
  for (const name of ['bin', 'src', 'drivers', 'sync', 'migrations', 'config', 'docs', 'README.md', '.env.example', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  // As `npm version` raises it: package.json and both places in package-lock.json.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { version: string; packages: Record<string, { version?: string }> };
  lock.version = version;
  if (lock.packages['']) lock.packages[''].version = version;
  writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** The unit's StateDirectory (systemd creates /var/lib/<name> before the start). */
function makeStateDirectory(unit: Unit): string {
  const dir = at(`/var/lib/${single(unit, 'Service.StateDirectory')}`);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  return dir;
}

describe.skipIf(process.platform !== 'linux')('release tarball and the systemd install of docs/operations.md', { timeout: 600_000 }, () => {
  let tarball: string;
  beforeAll(async () => {
    prefix = mkdtempSync(path.join(tmpdir(), 'gw-release-'));
    const built = await run('npm', ['run', '--silent', 'release', '--', '--out', at('/build')], {
      cwd: checkout(at('/checkout'), VERSION),
      timeoutMs: 180_000,
    });
    tarball = at(`/build/edge-gateway-${VERSION}.tgz`);
    if (built.status !== 0 || !existsSync(tarball)) throw new Error(`npm run release failed:\n${built.output}`);
  }, 200_000);

  afterAll(async () => {
    // A failed run must leave no gateway serving; the read-only tree is made writable to delete it.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!prefix) return;
    await run('chmod', ['-R', 'u+w', prefix], { cwd: tmpdir() });
    // Two installs' node_modules (about 450 MB): slow on a busy disk.
    await rm(prefix, { recursive: true, force: true });
  }, 300_000);

  it('holds the compiled daemon, what it reads at run time and the deploy files, and no sources', () => {
    const top = `edge-gateway-${VERSION}/`;
    const listed = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const names = listed.stdout.split('\n').filter(Boolean);
    expect(names.every((name) => name.startsWith(top))).toBe(true);
    const files = new Set(names.map((name) => name.slice(top.length)));
    for (const file of [
      'dist/src/cli.js',
      'migrations/sqlite/meta/_journal.json',
      'config/gateway.yaml',
      'config/devices.example.yaml',
      'bin/gateway.js',
      'bin/build.js',
      'package.json',
      'package-lock.json',
      'README.md',
      '.env.example',
      'dependencies.sha256',
      'docs/operations.md',
      'docs/deploy/edge-gateway.service',
      'docs/deploy/edge-gateway-backup.service',
      'docs/deploy/gateway.env.example',
    ]) {
      expect(files, file).toContain(file);
    }
    expect([...files].filter((file) => /^(src|drivers|sync|test|bench)\/|\.tsx?$|^dist\/\.|^bin\/release\.js$/.test(file))).toEqual([]);
    // Every source compiled, and nothing in dist/ without a source.
    const sources = ['src', 'drivers', 'sync'].flatMap((dir) =>
      (readdirSync(at(`/checkout/${dir}`), { recursive: true }) as string[])
        .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$|\.d\.ts$/.test(f))
        .map((f) => `dist/${dir}/${f.replace(/\.tsx?$/, '.js')}`),
    );
    expect([...files].filter((file) => file.startsWith('dist/') && !file.endsWith('/')).sort()).toEqual(sources.sort());
  });

  it('installs, refuses to start until set up for production, serves read-only, and upgrades keeping the data', async () => {
    // Install on a box: unpack into releases/, npm ci --omit=dev there, link current.
    for (const step of ['tar -xzf', 'npm ci --omit=dev --no-audit --no-fund', 'ln -sfn releases/edge-gateway-']) expect(OPERATIONS).toContain(step);
    mkdirSync(at('/opt/edge-gateway/releases'), { recursive: true });
    expect((await run('tar', ['-xzf', tarball, '-C', at('/opt/edge-gateway/releases')], { cwd: prefix })).status).toBe(0);
    const release1 = at(`/opt/edge-gateway/releases/edge-gateway-${VERSION}`);
    const npmCi = await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: release1, timeoutMs: 480_000 });
    expect(npmCi.status, npmCi.output).toBe(0);
    expect(existsSync(path.join(release1, 'node_modules', 'typescript')) || existsSync(path.join(release1, 'node_modules', 'tsx'))).toBe(false);
    expect((await run('ln', ['-sfn', `releases/edge-gateway-${VERSION}`, at('/opt/edge-gateway/current')], { cwd: prefix })).status).toBe(0);

    // The units as installed: copied from the release's docs/deploy.
    const unit = parseUnit(path.join(release1, 'docs', 'deploy', 'edge-gateway.service'));
    const backupUnit = parseUnit(path.join(release1, 'docs', 'deploy', 'edge-gateway-backup.service'));
    const envFile = at(single(unit, 'Service.EnvironmentFile'));
    const configDir = at(unitEnvironment(unit).CONFIG_DIR ?? '');
    mkdirSync(path.dirname(envFile), { recursive: true });
    mkdirSync(configDir, { recursive: true });
    cpSync(path.join(release1, 'config', 'gateway.yaml'), path.join(configDir, 'gateway.yaml'));
    mkdirSync(at('/var/backups/edge-gateway'), { recursive: true });
    const stateDir = makeStateDirectory(unit);
    const databasePath = at(unitEnvironment(unit).DATABASE_PATH ?? '');
    expect(path.dirname(databasePath)).toBe(stateDir);

    // The template as shipped: production refuses to start without SITE_ID and JWT_SECRET.
    const template = readFileSync(path.join(release1, 'docs', 'deploy', 'gateway.env.example'), 'utf8');
    writeFileSync(envFile, template);
    const unset = await runAsUnit(unit);
    expect(unset.status).toBe(1);
    expect(unset.output).toMatch(/SITE_ID: required in production/);
    // The sample secret of .env.example is refused: NODE_ENV=production is in effect.
    const port = await freePort();
    const fill = (secret: string) =>
      template
        .replace(/^SITE_ID=$/m, 'SITE_ID=7')
        .replace(/^JWT_SECRET=$/m, `JWT_SECRET=${secret}`)
        .replace(/^ADMIN_PASSWORD=$/m, `ADMIN_PASSWORD=${ADMIN_PASSWORD}`)
        .replace(/^HOST=.*$/m, 'HOST=127.0.0.1')
        .replace(/^PORT=.*$/m, `PORT=${port}`);
    writeFileSync(envFile, fill('change-me-to-a-random-string-of-at-least-32-bytes'));
    const sample = await runAsUnit(unit);
    expect(sample.status).toBe(1);
    expect(sample.output).toMatch(/JWT_SECRET: the sample or a trivial value is refused in production/);
    expect(existsSync(databasePath)).toBe(false);
    // As `openssl rand -base64 48` would.
    writeFileSync(envFile, fill(randomBytes(48).toString('base64')));

    // Read-only from here on: the unit's ProtectSystem=strict allows writes only to its state folder.
    spawnSync('chmod', ['-R', 'a-w', at('/opt'), at('/etc')]);
    const before = listing(at('/opt'));
    const etcBefore = listing(at('/etc'));

    // Everything in dist/ resolves in the install, without dev dependencies (cli.js runs the CLI when imported).
    const imported = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { readdirSync } from 'node:fs'; import path from 'node:path'; import { pathToFileURL } from 'node:url';
         const files = readdirSync('dist', { recursive: true }).filter((f) => f.endsWith('.js') && f !== path.join('src', 'cli.js'));
         for (const f of files) await import(pathToFileURL(path.resolve('dist', f)).href);
         console.log('imported', files.length);`,
      ],
      { cwd: at(single(unit, 'Service.WorkingDirectory')), env: serviceEnv(unit) },
    );
    expect(imported.status, imported.output).toBe(0);
    expect(imported.output).toMatch(/imported \d{2,}/);

    const first = await startService(unit, port);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ data: { status: 'ok' } });
    expect(existsSync(databasePath)).toBe(true);
    const admin = await login(port, 'admin', ADMIN_PASSWORD);
    expect(admin.status).toBe(200);
    const created = await fetch(`http://127.0.0.1:${port}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.body.data.access_token}` },
      body: JSON.stringify({ username: 'line-lead', password: 'line-lead-password-1', role: 'manager' }),
    });
    expect(created.status).toBe(201);

    // Upgrade step 1, while the service runs: the backup unit's ExecStart, then the copy under the version's name.
    const backupCmd = /^\/bin\/sh -c '(.*)'$/.exec(single(backupUnit, 'Service.ExecStart'))?.[1] ?? '';
    const runBackupUnit = () =>
      run('/bin/sh', ['-c', mapShell(backupCmd.replaceAll('%%', '%'))], {
        cwd: at(single(backupUnit, 'Service.WorkingDirectory')),
        env: serviceEnv(backupUnit),
      });
    const backup = await runBackupUnit();
    expect(backup.status, backup.output).toBe(0);
    // A week later the timer finds that weekday's file and replaces it.
    const weekLater = await runBackupUnit();
    expect(weekLater.status, weekLater.output).toBe(0);
    const keep = /systemctl start edge-gateway-backup && (cp [^`]+)`/.exec(OPERATIONS)?.[1] ?? 'missing in docs';
    const kept = await run('/bin/sh', ['-c', mapShell(keep)], { cwd: prefix });
    expect(kept.status, kept.output).toBe(0);
    expect(existsSync(at(keep.split(/\s+/).pop() ?? 'missing'))).toBe(true);

    expect(await first.stop()).toBe(0);
    // Log lines reach stdout in blocks (at the latest at exit), so they are read after the stop.
    expect(first.output()).toMatch(/"env":"production".*"msg":"gateway listening"|"msg":"gateway listening".*"env":"production"/);
    expect(first.output()).toContain('"msg":"stopped"');
    expect(changed(before, listing(at('/opt')))).toEqual([]);
    expect(changed(etcBefore, listing(at('/etc')))).toEqual([]);

    // Step 2: the next release (its version raised), built like the first, unpacked beside it.
    const next = await run(process.execPath, ['bin/release.js', '--out', at('/build-next')], {
      cwd: checkout(at('/checkout-next'), NEXT_VERSION),
      timeoutMs: 180_000,
    });
    expect(next.status, next.output).toBe(0);

    spawnSync('chmod', ['u+w', at('/opt/edge-gateway'), at('/opt/edge-gateway/releases')]);
    const untar = await run('tar', ['-xzf', at(`/build-next/edge-gateway-${NEXT_VERSION}.tgz`), '-C', at('/opt/edge-gateway/releases')], { cwd: prefix });
    expect(untar.status, untar.output).toBe(0);
    const release2 = at(`/opt/edge-gateway/releases/edge-gateway-${NEXT_VERSION}`);
    // Step 3: same production dependencies, so the docs' line copies node_modules instead of compiling again.
    expect(readFileSync(path.join(release2, 'dependencies.sha256'), 'utf8')).toBe(readFileSync(path.join(release1, 'dependencies.sha256'), 'utf8'));
    const deps = /^\s*(if cmp -s dependencies\.sha256 .*)$/m.exec(OPERATIONS)?.[1] ?? 'missing in docs';
    const installed = await run('/bin/sh', ['-c', mapShell(deps)], { cwd: release2, timeoutMs: 480_000 });
    expect(installed.status, installed.output).toBe(0);
    expect(installed.output).not.toMatch(/added \d+ packages/);
    // Step 4: switch the link and restart.
    expect((await run('ln', ['-sfn', `releases/edge-gateway-${NEXT_VERSION}`, at('/opt/edge-gateway/current')], { cwd: prefix })).status).toBe(0);
    spawnSync('chmod', ['-R', 'a-w', at('/opt')]);
    const before2 = listing(at('/opt'));

    const second = await startService(unit, port);
    // Step 5: the new version runs, on the same database: the account made before the upgrade signs in.
    const version = await runAsUnit(unit, ['--version']);
    expect(version.output.trim()).toBe(NEXT_VERSION);
    const lead = await login(port, 'line-lead', 'line-lead-password-1');
    expect(lead.status).toBe(200);
    expect(lead.body.data.user.role).toBe('manager');
    expect(await second.stop()).toBe(0);
    expect(changed(before2, listing(at('/opt')))).toEqual([]);
  });
});
