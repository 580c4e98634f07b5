import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildContext } from '../../src/bootstrap.ts';
import { manualClock } from '../../src/clock.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Role } from '../../src/core/vocabulary.ts';
import { newApp } from '../../src/app.ts';
import { checkContract } from './contract.ts';
import { startGateway } from '../../src/main.ts';
import { type Logger, silentLogger } from '../../src/logger.ts';
import { createPasswordHasher } from '../../src/modules/auth/password.ts';
import { createUser } from '../../src/modules/auth/service.ts';

/** Cheap scrypt for tests only (production uses OWASP parameters; see password.test.ts). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';
export const T0 = Date.parse('2026-11-26T08:00:00.000Z');
/** A time as the API writes it (UTC ISO 8601 with milliseconds). */
export const iso = (ms: number) => new Date(ms).toISOString();

export interface TestGateway {
  ctx: AppContext;
  app: ReturnType<typeof newApp>['app'];
  routes: ReturnType<typeof newApp>['routes'];
  clock: ReturnType<typeof manualClock>;
  dir: string;
  /** Calls the app in-process; JSON bodies are serialised, a string is sent as is. */
  req(method: string, url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** Creates a user directly and returns a token for it. */
  login(role: Role, username?: string): Promise<{ token: string; id: number; username: string; password: string }>;
  close(): void;
}

let counter = 0;

export function testConfig(dir: string, extra: Record<string, string> = {}): Config {
  return loadConfig(
    {
      NODE_ENV: 'test',
      DATABASE_PATH: path.join(dir, 'gateway.db'),
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'silent',
      CONFIG_DIR: path.join(dir, 'config'),
      ...extra,
    },
    dir,
  );
}

/** A gateway on its own fresh database file in a temp dir, with a manual clock; `settings` is its gateway.yaml. */
export function makeGateway(extra: Record<string, string> = {}, logger: Logger = silentLogger(), settings?: string): TestGateway {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-test-'));
  if (settings !== undefined) {
    mkdirSync(path.join(dir, 'config'), { recursive: true });
    writeFileSync(path.join(dir, 'config', 'gateway.yaml'), settings);
  }
  const clock = manualClock(T0);
  const ctx = buildContext(testConfig(dir, extra), logger, {
    clock,
    passwords: createPasswordHasher(TEST_SCRYPT, 4),
    processMetrics: false,
  });
  const { app, routes } = newApp(ctx);
  const req: TestGateway['req'] = (method, url, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(app.request(url, { method, headers, body })).then((res) => checkContract(routes, method, url, res));
  };
  const login: TestGateway['login'] = async (role, username) => {
    const name = username ?? `${role}${++counter}`;
    const password = `pw-${name}-secret`;
    const user = await createUser(ctx, { username: name, password, role });
    const res = await req('POST', '/auth/login', { body: { username: name, password } });
    const json = (await res.json()) as { data: { access_token: string } };
    return { token: json.data.access_token, id: user.id, username: name, password };
  };
  return {
    ctx,
    app,
    routes,
    clock,
    dir,
    req,
    login,
    close: () => {
      ctx.readings.stop();
      ctx.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads the envelope of a response. */
export async function body<T = Record<string, unknown>>(
  res: Response,
): Promise<{ data: T; error: { code: string; message: string; details?: unknown }; meta: Record<string, unknown> }> {
  return (await res.json()) as never;
}

/** Counts rows of a table, to prove a refused request changed nothing. */
export function rowCount(ctx: AppContext, table: string): number {
  return (ctx.store.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

/** A real listening gateway (startGateway) on a free loopback port, cheap scrypt, silent logs unless a logger is given. */
export async function listeningGateway(
  dir: string,
  extra: Record<string, string> = {},
  print: (line: string) => void = () => {},
  logger: Logger = silentLogger(),
) {
  const gw = await startGateway(testConfig(dir, { PORT: '0', HOST: '127.0.0.1', ...extra }), logger, {
    passwords: createPasswordHasher(TEST_SCRYPT),
    processMetrics: false,
    print,
  });
  return { gw, base: `http://127.0.0.1:${gw.port}` };
}
