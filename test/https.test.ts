import { execFileSync } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TlsFilesError } from '../src/http/tls.ts';
import type { RunningGateway } from '../src/main.ts';
import { listeningGateway, testConfig } from './helpers/app.ts';

// A plant CA and certificates it signs, made with the openssl CLI as docs/operations.md tells an operator to.
let pki: string;
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });

function issue(name: string, cn: string): { cert: string; key: string } {
  const key = path.join(pki, `${name}.key`);
  const csr = path.join(pki, `${name}.csr`);
  const cert = path.join(pki, `${name}.crt`);
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`);
  writeFileSync(path.join(pki, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', csr, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-out', cert, '-extfile', `${name}.ext`);
  return { cert, key };
}

let ca: Buffer;
beforeAll(() => {
  pki = mkdtempSync(path.join(tmpdir(), 'gw-pki-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-subj',
    '/CN=Plant CA',
  );
  ca = readFileSync(path.join(pki, 'ca.crt'));
});
afterAll(() => rmSync(pki, { recursive: true, force: true }));

const running: Array<{ gw: RunningGateway; dir: string }> = [];
afterEach(async () => {
  for (const { gw, dir } of running.splice(0)) {
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A free loopback port (for HTTP_REDIRECT_PORT, which cannot be 0). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A gateway serving HTTPS from cert files it will be told to reload; returns where they live. */
async function tlsGateway(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-https-'));
  const first = issue(`a${running.length}`, 'gateway-a');
  const certFile = path.join(dir, 'gateway.crt');
  const keyFile = path.join(dir, 'gateway.key');
  copyFileSync(first.cert, certFile);
  copyFileSync(first.key, keyFile);
  const { gw } = await listeningGateway(dir, { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, ADMIN_PASSWORD: 'admin-password-for-tests', ...extra });
  running.push({ gw, dir });
  return { gw, dir, certFile, keyFile };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The subject CN of the certificate the server presented. */
  cn: string;
}

function https(
  port: number,
  pathName: string,
  opts: { method?: string; body?: string; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: pathName, method: opts.method ?? 'GET', ca, headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerX509Certificate?.() as X509Certificate | undefined;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cn: cert?.subject.replace(/^CN=/, '') ?? '' }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function plain(port: number, pathName: string, method = 'GET'): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: pathName, method, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS on the gateway (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  it('serves the API, the console and the legacy listener over HTTPS only, with Secure cookies', async () => {
    const { gw } = await tlsGateway({ LEGACY_API_PORT: '0' });
    const health = await https(gw.port, '/health');
    expect(health.status).toBe(200);
    expect(health.cn).toBe('gateway-a');
    // HSTS: a browser that has been here once never tries plain HTTP again (nor lets a user click past a bad certificate).
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await https(gw.port, '/no-such-path')).headers['strict-transport-security']).toBe('max-age=31536000');
    // Plain HTTP on the HTTPS port gets nothing it could use.
    await expect(plain(gw.port, '/health')).rejects.toThrow();

    const form = new URLSearchParams({ username: 'admin', password: 'admin-password-for-tests' }).toString();
    const signIn = await https(gw.port, '/console/login', {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', host: `127.0.0.1:${gw.port}` },
    });
    expect(signIn.status).toBe(303);
    const cookie = ([] as string[]).concat(signIn.headers['set-cookie'] ?? []).find((c) => c.startsWith('gw_session='));
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(signIn.headers['strict-transport-security']).toBe('max-age=31536000');

    const legacy = await https(gw.legacyPort ?? 0, '/auth/login', {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'admin-password-for-tests' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(legacy.status).toBe(200);
    expect(legacy.cn).toBe('gateway-a');
    expect(legacy.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('answers on HTTP_REDIRECT_PORT with a redirect to the same path on https, and nothing else', async () => {
    const redirectPort = await freePort();
    const { gw } = await tlsGateway({ HTTP_REDIRECT_PORT: String(redirectPort) });
    const get = await plain(redirectPort, '/console/login?next=%2Fconsole%2Fwork');
    expect(get.status).toBe(301);
    expect(get.location).toBe(`https://127.0.0.1:${gw.port}/console/login?next=%2Fconsole%2Fwork`);
    const post = await plain(redirectPort, '/auth/login', 'POST');
    expect(post.status).toBe(308);
    expect(post.location).toBe(`https://127.0.0.1:${gw.port}/auth/login`);
  });

  it('never redirects to another host: a path starting with // or /\\ is refused, not read as a host', async () => {
    const redirectPort = await freePort();
    await tlsGateway({ HTTP_REDIRECT_PORT: String(redirectPort) });
    for (const attack of ['//evil.example/console/login', '/\\evil.example/console/login', '//evil.example', '/\\/evil.example/']) {
      const res = await plain(redirectPort, attack);
      expect(res.status, attack).toBe(400);
      expect(res.location, attack).toBeUndefined();
    }
  });

  it('reloads the certificate on SIGHUP without closing the listener; a bad pair keeps the current one', async () => {
    const { gw, certFile, keyFile } = await tlsGateway();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca });
    expect((await https(gw.port, '/health', { agent: keepAlive })).cn).toBe('gateway-a');

    const renewed = issue(`b${Date.now()}`, 'gateway-b');
    copyFileSync(renewed.cert, certFile);
    copyFileSync(renewed.key, keyFile);
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
    // A new connection gets the renewed certificate; the open one carries on.
    expect((await https(gw.port, '/health')).cn).toBe('gateway-b');
    const reused = await https(gw.port, '/health', { agent: keepAlive });
    expect(reused.status).toBe(200);
    keepAlive.destroy();

    // A key that does not fit (half-copied renewal): logged, and gateway-b stays.
    copyFileSync(issue(`c${Date.now()}`, 'gateway-c').key, keyFile);
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
    const still = await https(gw.port, '/health');
    expect(still.status).toBe(200);
    expect(still.cn).toBe('gateway-b');
  });

  it('survives SIGHUP without TLS (systemctl reload on a plain-HTTP box)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-hup-'));
    const { gw, base } = await listeningGateway(dir);
    running.push({ gw, dir });
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    // No HSTS over plain HTTP (a browser ignores it there, and the box may never have a certificate).
    expect(health.headers.get('strict-transport-security')).toBeNull();
  });

  it('refuses to start with one file of the pair, a missing file, or a key of another certificate, naming the key', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-https-bad-'));
    try {
      const a = issue('bad-a', 'a');
      const b = issue('bad-b', 'b');
      expect(() => testConfig(dir, { TLS_CERT_FILE: a.cert })).toThrow(/TLS_KEY_FILE: HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE/);
      expect(() => testConfig(dir, { TLS_CERT_FILE: a.cert, TLS_KEY_FILE: path.join(dir, 'nope.key') })).toThrow(/TLS_KEY_FILE: file not found/);
      expect(() => testConfig(dir, { HTTP_REDIRECT_PORT: '8081' })).toThrow(/HTTP_REDIRECT_PORT: only used with TLS_CERT_FILE/);
      const mismatched = listeningGateway(dir, { TLS_CERT_FILE: a.cert, TLS_KEY_FILE: b.key });
      await expect(mismatched).rejects.toThrow(TlsFilesError);
      await expect(mismatched).rejects.toThrow(/TLS_KEY_FILE: does not fit TLS_CERT_FILE/);
      const notPem = listeningGateway(dir, { TLS_CERT_FILE: a.key, TLS_KEY_FILE: a.key });
      await expect(notPem).rejects.toThrow(/TLS_CERT_FILE: .* is not a PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
