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
