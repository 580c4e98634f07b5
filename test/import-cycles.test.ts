import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderCycles, folderEdges } from './support/import-graph.ts';

const REPO = path.resolve(import.meta.dirname, '..');

describe('module boundaries', () => {
  it('has no import cycle between folders of src/ and drivers/', () => {
    const edges = folderEdges(REPO, ['src', 'drivers']);
    const cycles = folderCycles(edges).map((group) => ({
      folders: group,
      imports: edges.filter((e) => group.includes(e.from) && group.includes(e.to)).map((e) => e.via),
    }));
    expect(cycles).toEqual([]);
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
