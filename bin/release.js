// `npm run release`: the operator's artifact, release/edge-gateway-<version>.tgz. It holds the
// compiled daemon (dist/) and what it reads at run time, and no sources, so a box installs it with
// `npm ci --omit=dev` and runs it without TypeScript (docs/operations.md, "Install on a box").
// Plain JavaScript with Node built-ins only, like bin/build.js.
//
// Not `npm pack`: npm never packs package-lock.json, and `npm ci` on the box needs it. The files
// are staged in a temporary folder and archived by the system's GNU tar.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBuilt } from './build.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Compiled with tsc into dist/ (bin/build.js); shipped only as dist/. */
const SOURCE_DIRS = ['src', 'drivers', 'sync'];
/** Shipped as they are: the runtime reads migrations/ and package.json from the package root. */
const SHIPPED = ['bin/gateway.js', 'bin/build.js', 'migrations', 'docs', 'package.json', 'package-lock.json', 'README.md', '.env.example'];
/** config/: the defaults and examples only, never a developer's own devices.yaml. */
const SHIPPED_CONFIG = /^(gateway\.yaml|.*\.example\.ya?ml)$/;

/** Files under `dir` (relative to ROOT, posix separators), sorted so the archive's order is stable. */
function walk(dir) {
  const out = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...walk(rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/**
 * dist/ files whose source still exists. tsc's incremental build leaves the output of a deleted
 * source behind, and the build stamps (.built, .tsbuildinfo) mean nothing without sources.
 */
function distFiles() {
  return SOURCE_DIRS.flatMap((dir) => walk(`dist/${dir}`)).filter((file) => {
    const source = file.slice('dist/'.length).replace(/\.js$/, '');
    return file.endsWith('.js') && (existsSync(path.join(ROOT, `${source}.ts`)) || existsSync(path.join(ROOT, `${source}.tsx`)));
  });
}

/**
 * Fingerprint of the production dependency tree in package-lock.json, the package's own version
 * left out: two releases with the same one can share node_modules (docs/operations.md, "Upgrades").
 */
function dependencyFingerprint(lock) {
  const packages = Object.entries(lock.packages ?? {}).filter(([name, entry]) => name !== '' && !entry.dev);
  const root = lock.packages?.['']?.dependencies ?? {};
  return createHash('sha256').update(JSON.stringify({ root, packages })).digest('hex');
}

/**
 * Writes `top/` of `stage` as a gzipped tar with the system's GNU tar: entries root-owned, in name
 * order, so root unpacking it on the box gets files the service user can read but not change.
 */
function tgz(stage, top, out) {
  const res = spawnSync('tar', ['--create', '--gzip', '--file', out, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-C', stage, top], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`tar failed (${res.error?.message ?? `exit ${res.status ?? res.signal}`}); GNU tar is needed to write the release`);
}

/** Builds dist/ when stale and writes the tarball into `outDir`; returns its path. */
function release(outDir) {
  if (!existsSync(path.join(ROOT, 'src'))) throw new Error('no src/ here: run `npm run release` in a source checkout (after `npm ci`)');
  ensureBuilt();
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const top = `${pkg.name}-${pkg.version}`;
  const out = path.join(outDir, `${top}.tgz`);

  const files = [
    ...distFiles(),
    ...SHIPPED.flatMap((name) => (statSync(path.join(ROOT, name)).isDirectory() ? walk(name) : [name])),
    ...walk('config').filter((file) => SHIPPED_CONFIG.test(path.basename(file))),
  ].sort();
  const stage = mkdtempSync(path.join(tmpdir(), 'gw-release-'));
  try {
    for (const file of files) {
      const to = path.join(stage, top, file);
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(path.join(ROOT, file), to);
      chmodSync(to, statSync(to).mode & 0o111 ? 0o755 : 0o644);
    }
    writeFileSync(path.join(stage, top, 'dependencies.sha256'), `${dependencyFingerprint(lock)}\n`, { mode: 0o644 });
    mkdirSync(outDir, { recursive: true });
    // Renamed into place, so an interrupted run never leaves a truncated tarball under the final name.
    tgz(stage, top, `${out}.partial`);
    renameSync(`${out}.partial`, out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, 'release') } } });
    const out = release(path.resolve(values.out));
    const shown = out.startsWith(`${process.cwd()}${path.sep}`) ? path.relative(process.cwd(), out) : out;
    process.stdout.write(`${shown} (${(statSync(out).size / 1e6).toFixed(1)} MB)\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
