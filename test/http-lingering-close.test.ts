import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LINGER } from '../src/http/server.ts';
import type { RunningGateway } from '../src/main.ts';
import { listeningGateway } from './helpers/app.ts';
import { loginOverHttp, rawHttp, until } from './helpers/server.ts';

// A 413 is answered as soon as Content-Length says too much, while the body is still arriving.
// Closing at once left that body unread, and the kernel answers unread data on a closed socket
// with a reset, which a client still writing its body sees instead of the 413.
const ADMIN_PASSWORD = 'admin-password-for-lingering-tests';
const BODY_LIMIT = 1024 * 1024;
const MB = 1024 * 1024;
let gw: RunningGateway;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-linger-'));
  let base: string;
  ({ gw, base } = await listeningGateway(dir, { LEGACY_API_PORT: '0', ADMIN_PASSWORD }));
  token = await loginOverHttp(base, 'admin', ADMIN_PASSWORD);
});
afterAll(async () => {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

function open(port: number, allowHalfOpen = false): Socket {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
  sockets.push(socket);
  return socket;
}

const head = (target: string, length: number) =>
  `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` + `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

type Outcome = { raw: string } | { error: string };

/**
 * A client like Python's http.client: writes the request line, headers and the whole body, and
 * reads only once all of it is written. A reset while it writes is what such a client reports.
 */
function writeWholeThenRead(port: number, target: string, bodySize: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = open(port);
    socket.pause();
    const chunks: Buffer[] = [];
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve({ raw: Buffer.concat(chunks).toString('utf8') }));
    socket.setTimeout(20_000, () => socket.destroy(new Error('timeout')));
    socket.write(head(target, bodySize));
    socket.write(Buffer.alloc(bodySize, 'a'), (err) => {
      if (!err) socket.resume();
    });
  });
}

/** The status line and envelope of a complete 413, or what came instead. */
function summary(outcome: Outcome): string {
  if ('error' in outcome) return outcome.error;
  const [headers = '', body = ''] = outcome.raw.split('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(headers)?.[1]);
  if (Buffer.byteLength(body) !== length) return `incomplete: ${outcome.raw.slice(0, 80)}`;
  const code = (JSON.parse(body) as { error?: { code?: string }; detail?: unknown }).error?.code;
  return `${headers.split('\r\n')[0]} ${code ?? 'detail'}`;
}

describe('a client that writes its whole body over the limit before it reads', () => {
  it.each([
    ['v1', () => gw.port, ['/stages/1/start', '/stages/1/resume', '/stages/1/issue', '/assignments'], 'PAYLOAD_TOO_LARGE'],
    ['legacy', () => gw.legacyPort ?? 0, ['/stages/1/start', '/stages/1/done', '/stages/1/issue', '/workorders'], 'detail'],
  ])('gets the complete 413 on the %s listener, never a reset', async (_name, port, targets, code) => {
    const outcomes: Outcome[] = [];
    for (let round = 0; round < 6; round++) {
      // Just over the limit (as reported), and 8 MB over: more than loopback's socket buffers take,
      // so the client is surely still writing when the answer is out (closing then reset it).
      const over = round % 2 === 0 ? 1 : 8 * MB;
      outcomes.push(...(await Promise.all(targets.map((t, i) => writeWholeThenRead(port(), t, BODY_LIMIT + over + i)))));
    }
    expect(outcomes.map(summary)).toEqual(outcomes.map(() => `HTTP/1.1 413 Payload Too Large ${code}`));
  });

  it('never has a request pipelined after the refused body handled', async () => {
    const base = `http://127.0.0.1:${gw.port}`;
    const own = await loginOverHttp(base, 'admin', ADMIN_PASSWORD);
    const body = Buffer.alloc(BODY_LIMIT + 1, 'a');
    // A logout needs no body: handled, it would revoke the token at once.
    const logout = `POST /auth/logout HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${own}\r\nContent-Length: 0\r\n\r\n`;
    const raw = await rawHttp(gw.port, Buffer.concat([Buffer.from(head('/auth/register', body.length)), body, Buffer.from(logout)]));
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect((await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${own}` } })).status).toBe(200);
  });
});

describe('lingering after a 413 is bounded', () => {
  /**
   * Sends an over-limit head, then `feed` at will, and never closes its side (a client that does is
   * done sending, and the gateway closes then).
   */
  function overLimit(port: number, feed: (socket: Socket) => void) {
    const socket = open(port, true);
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    const answered = until(() => received.includes('\r\n\r\n{'));
    // The gateway's FIN follows its answer at once; its close shows when this client's next write
    // is reset.
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    socket.write(head('/stages/1/start', 1024 * MB));
    feed(socket);
    return { socket, answered: answered.then(() => Date.now()), closed, received: () => received };
  }

  it('cuts a client that keeps sending as fast as it can after LINGER.maxBytes', async () => {
    let written = 0;
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const { answered, closed, received } = overLimit(gw.port, (socket) => {
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk)) written += chunk.length;
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    const at = await answered;
    const elapsed = (await closed) - at;
    expect(received().split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    // What the bound lets in, plus what the ticks of a loaded machine let through and what the
    // socket buffers of both ends hold: far below the 1 GB body, which loopback delivers whole in
    // well under LINGER.maxMs without the byte bound.
    expect(written).toBeLessThan(LINGER.maxBytes * 4);
    expect(elapsed).toBeLessThan(LINGER.maxMs);
  });

  it('lets go of a client that goes quiet after LINGER.idleMs, before LINGER.maxMs', async () => {
    const { socket, answered, closed } = overLimit(gw.port, (s) => s.write(Buffer.alloc(64 * 1024, 'a')));
    await answered;
    await new Promise((r) => setTimeout(r, LINGER.idleMs + 1000));
    // Bytes after the gateway let go are reset (seen at the next write); while it lingers they are read.
    const probe = setInterval(() => socket.write('a'), 100);
    const late = new Promise<string>((r) => setTimeout(() => r('still lingering'), LINGER.maxMs - LINGER.idleMs - 2000));
    const outcome = await Promise.race([closed.then(() => 'closed'), late]);
    clearInterval(probe);
    expect(outcome).toBe('closed');
  });

  it('cuts a client that trickles forever after LINGER.maxMs, its connection counted against MAX_CONNECTIONS meanwhile', async () => {
    const capped = mkdtempSync(path.join(tmpdir(), 'gw-linger-cap-'));
    const { gw: one, base } = await listeningGateway(capped, { MAX_CONNECTIONS: '1' });
    try {
      let timer: NodeJS.Timeout | undefined;
      const { answered, closed } = overLimit(one.port, (socket) => {
        timer = setInterval(() => socket.write(Buffer.alloc(1024, 'a')), 100);
      });
      const at = await answered;
      // Refused at once, without an answer: the lingering connection holds the only place.
      expect(await rawHttp(one.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('');
      const elapsed = (await closed) - at;
      clearInterval(timer);
      expect(elapsed).toBeGreaterThan(LINGER.maxMs - 1000);
      expect(elapsed).toBeLessThan(LINGER.maxMs + 5000);
      await until(async () => (await one.ctx.metrics.httpConnections.get()).values[0]?.value === 0);
      expect((await fetch(`${base}/health`)).status).toBe(200);
    } finally {
      await one.stop();
      rmSync(capped, { recursive: true, force: true });
    }
  });
});
