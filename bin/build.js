// Keeps dist/ (the compiled daemon) in step with the TypeScript sources. Plain JavaScript with
// Node built-ins only, because it runs before anything is compiled.
//
// `node bin/build.js` rebuilds when needed; bin/gateway.js calls ensureBuilt() before it loads
// dist/, so `npm start` and `npx gateway …` never run code older than the checkout. In the image
// there are no sources (only dist/), and nothing is built.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
/** Touched after every successful build, with the time the build started. */
const STAMP = path.join(DIST, '.built');
const SOURCE_DIRS = ['src', 'drivers', 'sync'];
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** Newest mtime under `entry`; folders count too, so a deleted or renamed file is a change. */
function newestMtime(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

/** True in a source checkout whose dist/ is missing or older than a source or build setting. */
export function isStale() {
  if (!existsSync(path.join(ROOT, 'src'))) return false;
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  return [...SOURCE_DIRS, ...INPUT_FILES].some((name) => newestMtime(path.join(ROOT, name)) > built);
}

/** V8 heap limits that `npm start` (and the unit, the image) put in NODE_OPTIONS for the daemon. */
const HEAP_FLAG = /^--max[-_](old|semi)[-_]space[-_]size(=|$)/;

/**
 * The compiler's environment: the daemon's heap cap is for the daemon, and tsc needs far more
 * than 128 MB (under the cap it aborted, so `npm start` failed on every fresh clone).
 */
export function buildEnv(env) {
  const kept = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((opt) => opt && !HEAP_FLAG.test(opt));
  const out = { ...env };
  if (kept.length > 0) out.NODE_OPTIONS = kept.join(' ');
  else delete out.NODE_OPTIONS;
  return out;
}

/**
 * Rebuilds dist/ when stale. Type checking is left to `npm run typecheck` (CI runs it), as it was
 * when tsx ran the sources; this build only transpiles, which halves its time. Progress goes to
 * stderr so the CLI's stdout stays the command's output.
 */
export function ensureBuilt() {
  if (!isStale()) return;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    throw new Error('dist/ is missing or older than the sources, and TypeScript is not installed: run `npm ci`, then `npm start`');
  }
  const started = new Date();
  process.stderr.write('building dist/ from the TypeScript sources …\n');
  const res = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--noCheck'], {
    cwd: ROOT,
    env: buildEnv(process.env),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`the build failed (tsc exited with ${res.status ?? res.signal})`);
  // A source saved while tsc ran is newer than the stamp, so the next start builds again.
  writeFileSync(STAMP, '');
  utimesSync(STAMP, started, started);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    ensureBuilt();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
