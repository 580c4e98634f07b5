import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectionCap, DESCRIPTOR_RESERVE } from '../src/http/server.ts';
import type { RunningGateway } from '../src/main.ts';
import { listeningGateway } from './helpers/app.ts';
import { rawHttp, until } from './helpers/server.ts';

const opened: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function gateway(env: Record<string, string> = {}): Promise<{ gw: RunningGateway; base: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-limits-'));
  const started = await listeningGateway(dir, env);
  opened.push(async () => {
    await started.gw.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return started;
}

/** A raw client socket, destroyed after the test. */
async function client(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  socket.on('error', () => {});
  opened.push(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return socket;
}

/** A figure from the gateway's /metrics text (0 when the series is absent), fetched over its own connection. */
async function metric(base: string, series: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const ASSET = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')), 'swagger-ui-bundle.js'));
const ASSET_ROUTE = 'gateway_http_requests_total{method="GET",route="/docs/:asset",status="200"}';

describe('a client that does not read its answers', () => {
  it('gets no further pipelined request handled until it reads; meanwhile others are served; then it gets every answer', async () => {
    const { gw, base } = await gateway();
    const socket = await client(gw.port);
    socket.pause();
    const count = 30;
    socket.write('GET /docs/swagger-ui-bundle.js HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(count));
    // Every request is accounted for: handled, or held back until the socket takes the answers.
    await until(async () => (await metric(base, ASSET_ROUTE)) + (await metric(base, 'gateway_http_requests_held')) === count);
    const handled = await metric(base, ASSET_ROUTE);
    // Only as many answers as the socket buffers take (each is 1.7 MB), not thirty in memory.
    expect(handled).toBeLessThanOrEqual(6);
    expect((await fetch(`${base}/health`)).status).toBe(200);

    let received = 0;
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    });
    socket.resume();
    await until(() => received >= count * ASSET.length, 30_000);
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text.match(/HTTP\/1\.1 200 OK\r\n/g)?.length).toBe(count);
    expect(await metric(base, 'gateway_http_requests_held')).toBe(0);
  });

  it('is disconnected when it pipelines more requests than may wait', async () => {
    const { gw, base } = await gateway();
    const socket = await client(gw.port);
    let answers = 0;
    socket.on('data', (chunk: Buffer) => {
      answers += chunk.toString('latin1').match(/HTTP\/1\.1 /g)?.length ?? 0;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(500));
    await closed;
    expect(answers).toBeLessThan(500);
    expect(await metric(base, 'gateway_http_connections_closed_total{reason="pipeline"}')).toBe(1);
    expect(await metric(base, 'gateway_http_requests_held')).toBe(0);
  });
});

describe('connection limits', () => {
  it('answers a request that does not arrive in time with a 408 envelope and frees its descriptor', async () => {
    const { gw, base } = await gateway({ REQUEST_TIMEOUT: '1' });
    // A hostile client: half a request, and it never closes its side.
    const socket = await client(gw.port, { allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    await ended;
    const raw = Buffer.concat(chunks).toString('utf8');
    expect(raw.startsWith('HTTP/1.1 408 ')).toBe(true);
    const envelope = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(envelope.error.code).toBe('REQUEST_TIMEOUT');
    expect(envelope.meta.request_id).toBeTruthy();
    // The server side is gone although the client still holds its half open: only the
    // connection asking for /metrics remains.
    await until(async () => (await metric(base, 'gateway_http_connections')) === 1);
    expect(await metric(base, 'gateway_http_connections_closed_total{reason="timeout"}')).toBe(1);
  });

  it('refuses connections past MAX_CONNECTIONS and serves new clients once one leaves', async () => {
    const { gw, base } = await gateway({ MAX_CONNECTIONS: '3' });
    const held = [await client(gw.port), await client(gw.port), await client(gw.port)];
    const { ctx } = gw;
    await until(async () => (await ctx.metrics.httpConnections.get()).values[0]?.value === 3);
    // Refused at once, without an answer; the listening socket keeps working.
    expect(await rawHttp(gw.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('');
    held[0]?.destroy();
    await until(async () => (await ctx.metrics.httpConnections.get()).values[0]?.value === 2);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    await health.text();
    // Read in-process: every connection the cap allows is taken.
    const text = await ctx.metrics.registry.metrics();
    expect(text).toContain('gateway_http_connections_closed_total{reason="limit"} 1');
  });

  it('keeps descriptors in reserve below the process limit', () => {
    expect(connectionCap(512, undefined)).toBe(512);
    expect(connectionCap(512, 1_048_576)).toBe(512);
    expect(connectionCap(2000, 1024)).toBe(1024 - DESCRIPTOR_RESERVE);
    expect(connectionCap(10, 20)).toBe(1);
  });
});
