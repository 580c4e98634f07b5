// Which build of the product the benchmarks measure. By default the compiled dist/ that `npm start`
// and the image run (the bench's own glue still runs under tsx, which leaves dist/ untransformed);
// BENCH_SOURCES=1 measures the TypeScript sources under tsx instead, whose transform wraps every
// function it creates in a naming helper (visible in profiles as `__name`) and so costs more.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const SHIPPED = process.env.BENCH_SOURCES !== '1';
const ROOT = path.join(import.meta.dirname, '..');

/** Compiles dist/ when the sources are newer (bin/build.js, what `npm start` runs first). */
export function buildDist(): void {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'build.js')], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error('building dist/ failed');
}

// The bench's main process builds once before anything loads dist/; its children (forked, so with
// an IPC channel) find it built.
if (SHIPPED && !process.send) buildDist();

/** What the bench reports as the build under test. */
export const BUILD = SHIPPED ? 'dist/ (compiled, as shipped)' : 'sources under tsx';

/**
 * Loads a module of the product by its path from the repository root without extension
 * (`src/main`, `sync/state`): dist/…js when SHIPPED, the .ts source otherwise. Typed by the caller:
 * `await product<typeof import('../src/main.ts')>('src/main')`.
 */
export function product<T>(module: string): Promise<T> {
  const file = SHIPPED ? path.join(ROOT, 'dist', `${module}.js`) : path.join(ROOT, `${module}.ts`);
  return import(pathToFileURL(file).href) as Promise<T>;
}
