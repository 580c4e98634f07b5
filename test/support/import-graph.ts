import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import between two files (repo-relative paths). */
export interface FileEdge {
  from: string;
  to: string;
}

/** One import between two folders: the files that make it. */
export interface FolderEdge {
  from: string;
  to: string;
  via: string;
}

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return listSources(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/**
 * The unit a file belongs to: src/modules/<name>, src/<folder>, drivers/<folder>, sync/<folder>;
 * a file directly in src/ or drivers/ is its own unit, one directly in sync/ belongs to `sync`.
 */
export function folderOf(rel: string): string {
  const parts = rel.split(path.sep);
  if (parts[0] === 'src' && parts[1] === 'modules' && parts.length > 3) return parts.slice(0, 3).join('/');
  if (parts.length > 2) return parts.slice(0, 2).join('/');
  if (parts[0] === 'sync') return 'sync';
  return parts.join('/');
}

/**
 * Every relative module specifier of a file, type-only imports included: a type import does not
 * load the module, but it ties the two folders together just the same for whoever has to change
 * them (issue 25: counting them, nine folders were one cycle through src/context.ts).
 */
function importsOf(file: string): string[] {
  const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, kind);
  const specs: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specs.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) specs.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs.filter((s) => s.startsWith('.'));
}

/** Every import (runtime or type) from a .ts/.tsx file under `roots` to another file of the repo. */
export function fileEdges(repo: string, roots: string[]): FileEdge[] {
  const edges: FileEdge[] = [];
  for (const root of roots) {
    for (const file of listSources(path.join(repo, root))) {
      const from = path.relative(repo, file);
      for (const spec of importsOf(file)) {
        const to = path.relative(repo, path.resolve(path.dirname(file), spec));
        if (!to.startsWith('..') && !to.startsWith('node_modules')) edges.push({ from, to });
      }
    }
  }
  return edges;
}

/** Every import between different folders under `roots` (relative to `repo`). */
export function folderEdges(repo: string, roots: string[]): FolderEdge[] {
  return fileEdges(repo, roots).flatMap(({ from, to }) => {
    const a = folderOf(from);
    const b = folderOf(to);
    return a === b ? [] : [{ from: a, to: b, via: `${from} → ${to}` }];
  });
}

/** Strongly connected groups of more than one folder (Tarjan), each a cycle to break. */
export function folderCycles(edges: FolderEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)?.add(e.to);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return groups;
}
