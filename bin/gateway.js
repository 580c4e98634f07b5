#!/usr/bin/env node
// The `gateway` command (`npm start` = `gateway serve`): runs the compiled daemon from dist/ in
// this very process, so signals sent to it reach the gateway. In a source checkout dist/ is
// rebuilt first when the sources changed (bin/build.js); the image ships dist/ only.
import { ensureBuilt } from './build.js';

try {
  ensureBuilt();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import('../dist/src/cli.js');
