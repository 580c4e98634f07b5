import { readFileSync } from 'node:fs';

/** A unit file as systemd reads it: `Section.Key` → its values, in file order. */
export type Unit = Map<string, string[]>;

/** Parses a systemd unit file (sections, `Key=Value`, `#`/`;` comments, trailing-backslash continuations). */
export function parseUnit(file: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${file}: not a Key=Value line: ${line}`);
    const key = `${section}.${line.slice(0, eq).trim()}`;
    unit.set(key, [...(unit.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** The one value of `key` (`Section.Key`); throws when it is missing or repeated. */
export function single(unit: Unit, key: string): string {
  const values = unit.get(key) ?? [];
  if (values.length !== 1 || values[0] === undefined) throw new Error(`${key}: expected one value, found ${values.length}`);
  return values[0];
}

/** The variables of a unit's `Environment=` lines: space-separated assignments, each optionally in double quotes. */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of unit.get('Service.Environment') ?? []) {
    for (const m of value.matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = m[1] ?? m[2] ?? '';
      const eq = assignment.indexOf('=');
      if (eq < 1) throw new Error(`Environment=${value}: not KEY=VALUE`);
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

/**
 * An `EnvironmentFile=` as systemd reads it: `KEY=VALUE` lines, `#`/`;` comment lines, a value in
 * matching quotes unquoted. Nothing else is stripped: a `# note` after a value stays in the value.
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m?.[1]) throw new Error(`not an environment file line: ${line}`);
    const value = (m[2] ?? '').trim();
    env[m[1]] = /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}
