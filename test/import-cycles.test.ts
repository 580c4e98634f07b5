import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FileEdge, fileEdges, folderCycles, folderEdges } from './support/import-graph.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const ROOTS = ['src', 'drivers', 'sync'];

/** The folder cycles among `roots` of `repo`, each with the imports that make it. */
function cyclesOf(repo: string, roots: string[]) {
  const edges = folderEdges(repo, roots);
  return folderCycles(edges).map((group) => ({
    folders: group,
    imports: edges.filter((e) => group.includes(e.from) && group.includes(e.to)).map((e) => e.via),
  }));
}

/** Imports that break a layering rule: from files `from` matches, to files `allowed` refuses. */
function breaches(edges: FileEdge[], from: (file: string) => boolean, allowed: (target: string) => boolean): string[] {
  return edges.filter((e) => from(e.from) && !allowed(e.to)).map((e) => `${e.from} → ${e.to}`);
}

const under = (folder: string) => (file: string) => file.startsWith(`${folder}/`);

/** docs/architecture.md, "Layers": the rules the import graph must keep. */
function layeringBreaches(edges: FileEdge[]): Record<string, string[]> {
  return {
    'src/core imports nothing of ours': breaches(edges, under('src/core'), under('src/core')),
    'src/config.ts imports only the core': breaches(edges, (f) => f === 'src/config.ts', under('src/core')),
    'src/db imports no module, no http/ and no drivers/': breaches(
      edges,
      under('src/db'),
      (t) => !under('src/modules')(t) && !under('src/http')(t) && !under('drivers')(t),
    ),
    'src/context.ts imports no module': breaches(
      edges,
      (f) => f === 'src/context.ts',
      (t) => !under('src/modules')(t),
    ),
    'drivers/ import only drivers/ and the core': breaches(edges, under('drivers'), (t) => under('drivers')(t) || under('src/core')(t)),
  };
}

describe('module boundaries', () => {
  it('has no import cycle between folders of src/, drivers/ and sync/, counting .tsx files and type imports', () => {
    expect(cyclesOf(REPO, ROOTS)).toEqual([]);
  });

  it('keeps the layering rules', () => {
    const found = layeringBreaches(fileEdges(REPO, ROOTS));
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((rule) => [rule, []])));
  });

  it('finds a cycle when there is one (the check itself can fail)', () => {
    const cycles = folderCycles([
      { from: 'src/a', to: 'src/b', via: 'a → b' },
      { from: 'src/b', to: 'src/c', via: 'b → c' },
      { from: 'src/c', to: 'src/a', via: 'c → a' },
      { from: 'src/c', to: 'src/d', via: 'c → d' },
    ]);
    expect(cycles).toEqual([['src/a', 'src/b', 'src/c']]);
  });
});

describe('the import graph behind the check', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A throwaway repository of the given files. */
  function repoOf(files: Record<string, string>): string {
    dir = mkdtempSync(path.join(tmpdir(), 'import-graph-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('sees a cycle made by a .tsx file, a type-only import and an inline import() type', () => {
    const repo = repoOf({
      'src/console/page.tsx': "import type { Row } from '../context.ts';\nexport const page = (r: Row) => <p>{r.id}</p>;\n",
      'src/context.ts': "export interface Row { id: number; user: import('./modules/auth/user.ts').User }\n",
      'src/modules/auth/user.ts': "import { type Page } from '../../console/page.tsx';\nexport interface User { page?: Page }\n",
    });
    expect(cyclesOf(repo, ['src']).map((c) => c.folders)).toEqual([['src/console', 'src/context.ts', 'src/modules/auth']]);
  });

  it('sees a cycle through sync/ and drivers/', () => {
    const repo = repoOf({
      'sync/push.ts': "export type { Sample } from '../drivers/engine/types.ts';\n",
      'drivers/engine/types.ts': "import type { Push } from '../../sync/hq/apply.ts';\nexport interface Sample { push: Push }\n",
      'sync/hq/apply.ts': "export async function apply() { await import('../push.ts'); }\nexport type Push = 1;\n",
    });
    expect(cyclesOf(repo, ['sync', 'drivers']).map((c) => c.folders)).toEqual([['drivers/engine', 'sync', 'sync/hq']]);
  });

  it('reports each broken layering rule with the import that breaks it', () => {
    const repo = repoOf({
      'src/core/vocabulary.ts': "import type { Config } from '../config.ts';\nexport type V = Config;\n",
      'src/config.ts': "import { x } from './http/client-address.ts';\nexport type Config = typeof x;\n",
      'src/db/schema.ts': "import { MACHINE_STATUSES } from '../../drivers/engine/types.ts';\nexport const s = MACHINE_STATUSES;\n",
      'src/context.ts': "import type { TokenService } from './modules/auth/tokens.ts';\nexport type T = TokenService;\n",
      'drivers/engine/types.ts': "import type { Store } from '../../src/db/store.ts';\nexport type S = Store;\n",
    });
    expect(layeringBreaches(fileEdges(repo, ['src', 'drivers']))).toEqual({
      'src/core imports nothing of ours': ['src/core/vocabulary.ts → src/config.ts'],
      'src/config.ts imports only the core': ['src/config.ts → src/http/client-address.ts'],
      'src/db imports no module, no http/ and no drivers/': ['src/db/schema.ts → drivers/engine/types.ts'],
      'src/context.ts imports no module': ['src/context.ts → src/modules/auth/tokens.ts'],
      'drivers/ import only drivers/ and the core': ['drivers/engine/types.ts → src/db/store.ts'],
    });
  });
});
