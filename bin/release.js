// `npm run release`: the operator's artifact, release/edge-gateway-<version>.tgz. It holds the
// compiled daemon (dist/) and what it reads at run time, and no sources, so a box installs it with
// `npm ci --omit=dev` and runs it without TypeScript (docs/operations.md, "Install on a box").
// Plain JavaScript with Node built-ins only, like bin/build.js.
//
// Not `npm pack`: npm never packs package-lock.json, and `npm ci` on the box needs it. The tar
// writer below is ustar, which every tar reads; entries are root-owned, so root unpacking it on
// the box gets files the service user can read but not change.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
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

/** A ustar header block; a name over 100 bytes is split at a slash into prefix and name. */
function tarHeader(name, { size, mode, mtime, dir }) {
  let prefix = '';
  let base = name;
  for (let cut = name.indexOf('/'); Buffer.byteLength(base) > 100; cut = name.indexOf('/', cut + 1)) {
    if (cut < 0 || cut > 155) throw new Error(`path too long for a tar header: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const header = Buffer.alloc(512);
  const put = (text, offset, length) => header.write(text, offset, length, 'utf8');
  const octal = (value, digits) => `${value.toString(8).padStart(digits, '0')}\0`;
  put(base, 0, 100);
  put(octal(mode, 7), 100, 8);
  put(octal(0, 7), 108, 8); // uid root
  put(octal(0, 7), 116, 8); // gid root
  put(octal(size, 11), 124, 12);
  put(octal(mtime, 11), 136, 12);
  put('        ', 148, 8); // the checksum is summed with its own field as spaces
  put(dir ? '5' : '0', 156, 1);
  put('ustar\x0000', 257, 8);
  put('root', 265, 32);
  put('root', 297, 32);
  put(prefix, 345, 155);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return header;
}

/** A gzipped tar of `entries` ({ name, data?, mode, mtime }); a folder has no data. */
function tgz(entries) {
  const blocks = [];
  for (const entry of entries) {
    const size = entry.data?.length ?? 0;
    blocks.push(tarHeader(entry.name, { size, mode: entry.mode, mtime: entry.mtime, dir: !entry.data }));
    if (entry.data) blocks.push(entry.data, Buffer.alloc((512 - (size % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

/** Builds dist/ when stale and writes the tarball into `outDir`; returns its path. */
function release(outDir) {
  if (!existsSync(path.join(ROOT, 'src'))) throw new Error('no src/ here: run `npm run release` in a source checkout (after `npm ci`)');
  ensureBuilt();
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const top = `${pkg.name}-${pkg.version}`;

  const files = [
    ...distFiles(),
    ...SHIPPED.flatMap((name) => (statSync(path.join(ROOT, name)).isDirectory() ? walk(name) : [name])),
    ...walk('config').filter((file) => SHIPPED_CONFIG.test(path.basename(file))),
  ].sort();
  const entries = [];
  const dirs = new Set();
  for (const file of files) {
    // Each folder once, before its first file: tar then creates it with the mode given here.
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      entries.push({ name: `${top}/${dir}/`, mode: 0o755, mtime: Math.floor(statSync(path.join(ROOT, dir)).mtimeMs / 1000) });
    }
    const stat = statSync(path.join(ROOT, file));
    entries.push({
      name: `${top}/${file}`,
      data: readFileSync(path.join(ROOT, file)),
      mode: stat.mode & 0o111 ? 0o755 : 0o644,
      mtime: Math.floor(stat.mtimeMs / 1000),
    });
  }
  const now = Math.floor(Date.now() / 1000);
  entries.unshift({ name: `${top}/`, mode: 0o755, mtime: now });
  entries.push({ name: `${top}/dependencies.sha256`, data: Buffer.from(`${dependencyFingerprint(lock)}\n`), mode: 0o644, mtime: now });

  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${top}.tgz`);
  // Renamed into place, so an interrupted run never leaves a truncated tarball under the final name.
  writeFileSync(`${out}.partial`, tgz(entries));
  renameSync(`${out}.partial`, out);
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
