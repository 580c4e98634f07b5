import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
}

/**
 * The folder holding package.json, migrations/ and config/. Code runs from src/ (tests, tsx) or
 * from the compiled dist/src/ (npm start, the image), one level deeper; searching upwards for
 * package.json finds the same root from both, so non-code files are never copied into dist/.
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
