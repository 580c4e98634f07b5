import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../src/main.ts';
import { listeningGateway } from './helpers/app.ts';
import { chunkedPost, rawHttp } from './helpers/server.ts';

let gw: RunningGateway;
let dir: string;
let base: string;
let printed = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-http-'));
  ({ gw, base } = await listeningGateway(dir, {}, (line) => {
    printed += line;
  }));
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a listening gateway', () => {
  it('creates the first admin with a generated password, printed once, that works', async () => {
    const password = /password: (\S+)/.exec(printed)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const res = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(res.status).toBe(200);
  });

  it('reuses a well-formed X-Request-Id and replaces a bad one', async () => {
    const good = await fetch(`${base}/health`, { headers: { 'x-request-id': 'terminal-7.abc_1' } });
    expect(good.headers.get('x-request-id')).toBe('terminal-7.abc_1');
    expect(((await good.json()) as { meta: { request_id: string } }).meta.request_id).toBe('terminal-7.abc_1');
    const bad = await fetch(`${base}/health`, { headers: { 'x-request-id': 'x'.repeat(65) } });
    expect(bad.headers.get('x-request-id')).not.toBe('x'.repeat(65));
    const weird = await fetch(`${base}/nowhere`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(weird.status).toBe(404);
    expect(weird.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a chunked body over the limit with a 413 envelope', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const res = await chunkedPost(
      gw.port,
      '/auth/register',
      { 'content-type': 'application/json' },
      Array.from({ length: 20 }, () => chunk),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    // The rest of the body is not read, so the connection cannot carry another request: it says so.
    expect(res.headers.connection).toBe('close');
  });

  it('answers a request with no usable Host or target with a 400 envelope and closes its connection', async () => {
    for (const head of [
      'GET /health HTTP/1.1\r\n',
      'GET /health HTTP/1.1\r\nHost: a b\r\n',
      'GET /health HTTP/1.1\r\nHost: [::1\r\n',
      'GET /health HTTP/1.1\r\nHost: x:99999\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\n',
      'GET /auth\\users HTTP/1.1\r\nHost: x\r\n',
    ]) {
      // Ends when the server closes the connection (rawHttp waits for the end).
      const raw = await rawHttp(gw.port, `${head}\r\n`);
      expect(raw.split(' ')[1], head).toBe('400');
      const headers = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase();
      expect(headers, head).toContain('connection: close');
      const json = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
      expect(json.error.code, head).toBe('MALFORMED_REQUEST');
      expect(headers, head).toContain(`x-request-id: ${json.meta.request_id}`);
    }
  });

  it('answers Content-Length together with Transfer-Encoding with an envelope, not a bare error', async () => {
    const big = 'a'.repeat(2 * 1024 * 1024);
    const raw = await rawHttp(
      gw.port,
      `POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    const status = Number(raw.split(' ')[1]);
    expect([400, 413]).toContain(status);
    const json = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(['MALFORMED_REQUEST', 'PAYLOAD_TOO_LARGE']).toContain(json.error.code);
    expect(json.meta.request_id).toBeTruthy();
  });

  it('serves the OpenAPI document and the docs UI from local assets', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/login', '/workorders', '/stages/{wos_id}/start', '/machines/{machine_id}/readings']));
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ scheme: 'bearer' });
    const page = await fetch(`${base}/docs`);
    expect(await page.text()).toContain('/openapi.json');
    const asset = await fetch(`${base}/docs/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    const size = (await asset.arrayBuffer()).byteLength;
    expect(size).toBeGreaterThan(100_000);
    // Answered again from the cache, whole.
    expect((await (await fetch(`${base}/docs/swagger-ui-bundle.js`)).arrayBuffer()).byteLength).toBe(size);
  });

  it('reports ready and exposes Prometheus metrics', async () => {
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/gateway_http_requests_total\{method="GET",route="\/ready",status="200"\} [1-9]/);
  });
});

describe('unexpected errors', () => {
  it('answer INTERNAL_ERROR with the request id, never the message, and log the stack', async () => {
    const { Writable } = await import('node:stream');
    const pino = (await import('pino')).default;
    const { makeGateway, body } = await import('./helpers/app.ts');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const test = makeGateway({}, pino({ level: 'info' }, sink));
    try {
      const admin = await test.login('admin');
      test.ctx.statusBoard.addDevice(() => {
        throw new Error('secret internals: /etc/shadow');
      });
      const res = await test.req('GET', '/drivers/status', { token: admin.token, headers: { 'x-request-id': 'req-500' } });
      expect(res.status).toBe(500);
      const env = await body(res);
      expect(env.error.code).toBe('INTERNAL_ERROR');
      expect(JSON.stringify(env)).not.toContain('secret');
      expect(env.meta.request_id).toBe('req-500');
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unexpected error');
      expect(logged).toMatchObject({ request_id: 'req-500', err: { message: 'secret internals: /etc/shadow' } });
      expect(logged.err.stack).toContain('Error: secret internals');
    } finally {
      test.close();
    }
  });
});

describe('a client that disconnects in the middle of its body', () => {
  it('is logged at info as 499 and counted apart, never as an unexpected error or a 500', async () => {
    const { Writable } = await import('node:stream');
    const { connect } = await import('node:net');
    const pino = (await import('pino')).default;
    const { startGateway } = await import('../src/main.ts');
    const { testConfig, TEST_SCRYPT } = await import('./helpers/app.ts');
    const { createPasswordHasher } = await import('../src/modules/auth/password.ts');
    const { until } = await import('./helpers/server.ts');
    const lines: Array<{ level: number; msg: string; status?: number }> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const own = mkdtempSync(path.join(tmpdir(), 'gw-499-'));
    const server = await startGateway(testConfig(own, { PORT: '0', HOST: '127.0.0.1' }), pino({ level: 'info' }, sink), {
      passwords: createPasswordHasher(TEST_SCRYPT),
      processMetrics: false,
      print: () => {},
    });
    try {
      for (const framing of ['Transfer-Encoding: chunked\r\n\r\nc\r\n{"username":\r\n', 'Content-Length: 1000\r\n\r\n{"username":']) {
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        // The headers and part of the body arrive, then the client leaves (FIN: nothing is lost on loopback).
        socket.end(`POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}`);
      }
      await until(() => lines.filter((l) => l.msg === 'client closed request').length === 2);
      expect(lines.filter((l) => l.msg === 'client closed request').every((l) => l.status === 499 && l.level === 30)).toBe(true);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      const text = await server.ctx.metrics.registry.metrics();
      const closedCount = [...text.matchAll(/gateway_http_requests_total\{method="POST",route="[^"]*",status="499"\} (\d+)/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
      expect(closedCount).toBe(2);
      expect(text).not.toMatch(/status="500"/);
    } finally {
      await server.stop();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
