import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';

/** Whether `port` can be listened on, on every address (dual-stack `::`, else 0.0.0.0). */
function bindable(port: number, host = '::'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) resolve(bindable(port, '0.0.0.0'));
      else resolve(false);
    });
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The lower end of the kernel's ephemeral port range (Linux), where outgoing connections get ports. */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * A free port for a server a test starts later. Taken at random below the ephemeral range: a port
 * the kernel hands out (listen on 0) can meanwhile become the local port of any outgoing
 * connection of a parallel test, and the later listen then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const low = Math.max(20_100, ephemeralLow());
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * (low - 20_000));
    if (await bindable(port)) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends raw bytes over a socket and reads the whole answer (for framing the fetch API forbids). */
export function rawHttp(port: number, payload: string | Buffer): Promise<string> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('data', (c) => chunks.push(c));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', (err) => (chunks.length ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(err)));
        socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
        socket.write(payload);
      }),
  );
}

/** A chunked request whose body is produced piece by piece (no Content-Length). */
export function chunkedPost(port: number, path: string, headers: Record<string, string>, chunks: Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      const chunk = chunks[i++];
      if (!chunk) {
        req.end();
        return;
      }
      if (req.write(chunk)) setImmediate(next);
      else req.once('drain', next);
    };
    next();
  });
}

/** Polls `check` until it holds (sync or async), failing after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 15_000, everyMs = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Logs in over HTTP and returns the access token. */
export async function loginOverHttp(base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return ((await res.json()) as { data: { access_token: string } }).data.access_token;
}
