import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './child.ts';

/**
 * vitest globalSetup: the tests that start the gateway as a process run the compiled daemon
 * (bin/gateway.js loads dist/). Build it once here, before any test spawns one, instead of in
 * several child processes at once.
 */
export default function buildDist(): void {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'build.js')], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error('building dist/ failed; see the output above');
}
