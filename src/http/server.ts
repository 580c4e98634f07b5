import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { AppContext } from '../context.ts';
import type { Logger } from '../logger.ts';
import { errorBody } from './envelope.ts';
import { statusOf, TransportError } from './errors.ts';
import { serializePipeline } from './pipeline.ts';
import { readTlsPair } from './tls.ts';

type FetchHandler = (req: Request, env: unknown) => Response | Promise<Response>;

/** The listening HTTP server of the gateway. */
export interface HttpServer {
  server: Server;
  port: number;
  /** Stops accepting, closes idle connections, and cuts the rest after a grace period. */
  stop(): Promise<void>;
  /**
   * Re-reads TLS_CERT_FILE and TLS_KEY_FILE for new connections, without closing the listener
   * (SIGHUP); a pair that does not load is logged and the current one kept. No-op without TLS.
   */
  reloadTls(): void;
}

/** Strict-Transport-Security on every HTTPS answer: one year, this host only (docs/operations.md, HTTPS). */
export const HSTS = 'max-age=31536000';

/** Descriptors kept free for everything but client sockets: database, WAL, logs, drivers, the listener. */
export const DESCRIPTOR_RESERVE = 64;
/** How long a refused socket may take to flush its error answer before it is cut. */
const LINGER_MS = 2000;
/** Behind a load balancer the idle keep-alive must outlive the balancer's (often 60 s). */
const KEEP_ALIVE_MS = 65_000;

/**
 * Bounds of a lingering close (see lingerThenClose). nginx reads for up to 30 s (lingering_time)
 * with 5 s of silence allowed (lingering_timeout), sized for slow internet clients; ours are on the
 * plant network, where 32 MB take under 3 s at 100 Mbit/s: a body up to 32 MB past the answer is
 * read to its end, and a client that keeps sending holds one descriptor for at most 5 s and makes us
 * read about 32 MB (checked every tickMs, so a little more at loopback speed) — less than a client
 * sending a slow request may take anyway (REQUEST_TIMEOUT, 30 s by default).
 */
export const LINGER = { maxMs: 5000, idleMs: 2000, maxBytes: 32 * 1024 * 1024, tickMs: 50 };

/** The process's open-descriptor limit (Linux), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** MAX_CONNECTIONS, lowered so that a full house of clients still leaves descriptors for the rest. */
export function connectionCap(wanted: number, descriptorLimit: number | undefined): number {
  if (descriptorLimit === undefined) return wanted;
  return Math.max(1, Math.min(wanted, descriptorLimit - DESCRIPTOR_RESERVE));
}

/** Node marks the response being written on its socket; a raw answer must not cut into it. */
function responseStarted(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true;
}

/** Writes a complete error answer on a socket Node's parser gave up on, then closes it for good. */
function answerAndClose(socket: Socket, err: TransportError, reason: string): void {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(err, requestId));
  // With allowHalfOpen, end() alone kept the descriptor until the client closed its side,
  // which a hostile client never does: destroy once the answer is out, or after LINGER_MS.
  const linger = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(linger));
  socket.end(
    `HTTP/1.1 ${statusOf(err)} ${reason}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * Lingering close, as nginx does it. An answer that closes the connection before the request's
 * body has all arrived (a 413 is sent as soon as Content-Length is seen) used to close the socket
 * with that body still arriving; the kernel answers unread data on a closed socket with a reset,
 * which can discard the answer before the client reads it, and a client that writes its whole body
 * before reading (Python's http.client) then sees only the reset. So: the answer, then FIN, then
 * the rest of the body is read and dropped until it ends, the client closes its side, or a bound
 * of LINGER is reached. The socket stays a connection of the server meanwhile, counted against
 * MAX_CONNECTIONS.
 */
function lingerThenClose(socket: Socket, req: IncomingMessage, close: () => void): void {
  // Node's parser reads the body on, dropping it (it dumps an unread body) or handing it to the
  // request: then whoever read it (node-server's stream, which the legacy listener hands to v1)
  // stops and pauses it once its reader is gone, so it is set flowing to nobody. Either way only
  // the socket's byte count shows progress, hence a timer that watches it.
  req.removeAllListeners('data');
  req.resume();
  const start = socket.bytesRead;
  const started = Date.now();
  let seen = start;
  let lastProgress = started;
  const watch = setInterval(() => {
    const now = Date.now();
    const read = socket.bytesRead;
    if (read !== seen) lastProgress = now;
    seen = read;
    if (read - start > LINGER.maxBytes || now - lastProgress >= LINGER.idleMs || now - started >= LINGER.maxMs) socket.destroy();
  }, LINGER.tickMs).unref();
  // The body is all in, or the client is done sending: close once the answer is flushed.
  req.once('end', close);
  socket.once('end', close);
  socket.once('close', () => clearInterval(watch));
  socket.end();
}

/** At most one warning per interval for a repeated condition (a flood must not flood the log). */
function rateLimitedWarn(log: Logger, intervalMs: number) {
  let last = 0;
  let suppressed = 0;
  return (fields: Record<string, unknown>, msg: string) => {
    const now = Date.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    log.warn({ ...fields, suppressed }, msg);
    last = now;
    suppressed = 0;
  };
}

/** Starts the HTTP server for `fetch` on the configured host and port (or another port: the legacy listener). */
export function startHttpServer(ctx: AppContext, fetch: FetchHandler, port = ctx.config.port): Promise<HttpServer> {
  const { config, metrics } = ctx;
  const log = ctx.logger.child({ module: 'http' });
  const warn = { limit: rateLimitedWarn(log, 10_000), pipeline: rateLimitedWarn(log, 10_000) };
  const requestTimeout = config.requestTimeoutS * 1000;
  const headersTimeout = Math.min(20_000, requestTimeout);
  // A request node-server cannot turn into a URL (no or a malformed Host header, `OPTIONS *`, a
  // backslash in the path) still gets the envelope and a request id, and its connection is closed.
  const refusal = (err: unknown) => {
    const requestId = randomUUID();
    const bad = err instanceof RequestError;
    if (!bad) log.error({ err, request_id: requestId }, 'unexpected error');
    const answer = bad
      ? new TransportError('MALFORMED_REQUEST', `the request target or Host header is not valid (${err.message})`)
      : new TransportError('INTERNAL_ERROR', 'an unexpected error occurred; quote the request id when reporting it');
    const body = JSON.stringify(errorBody(answer, requestId));
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': requestId, connection: 'close' };
    return { status: statusOf(answer), headers, body };
  };
  const refuse = (err: unknown): Response => {
    const { status, headers, body } = refusal(err);
    return new Response(body, { status, headers });
  };
  const listener = getRequestListener(fetch, { hostname: config.host, errorHandler: refuse });
  // HTTP/1.1 requires Host (RFC 9112 3.2); node-server would fill in our own, so it is checked here.
  const withHost = (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host !== undefined || req.httpVersion === '1.0') return listener(req, res);
    const { status, headers, body } = refusal(new RequestError('Missing host header'));
    res.writeHead(status, headers).end(body);
  };
  const gated = serializePipeline(withHost, {
    held: (delta) => metrics.httpRequestsHeld.inc(delta),
    overflow: (socket) => {
      metrics.httpConnectionsClosed.inc({ reason: 'pipeline' });
      warn.pipeline({ client_ip: socket.remoteAddress }, 'connection closed: too many pipelined requests waiting');
    },
  });
  // The last request Node parsed on each connection (has its body all arrived?), and the
  // connections answered for good whose client is still sending (see lingerThenClose).
  const lastRequest = new WeakMap<Socket, IncomingMessage>();
  const lingering = new WeakSet<Socket>();
  const accept = (req: IncomingMessage, res: ServerResponse) => {
    // A request pipelined after an answer with Connection: close is never handled.
    if (lingering.has(req.socket)) return req.socket.destroy();
    lastRequest.set(req.socket, req);
    // Over HTTPS every answer (API, console, legacy, errors) tells the browser to stay on HTTPS for a year.
    if (config.tls) res.setHeader('strict-transport-security', HSTS);
    gated(req, res);
  };
  const options = {
    requestTimeout,
    headersTimeout,
    // A request without Host is refused by node-server with the envelope (above), not by Node bare.
    requireHostHeader: false,
    // Node checks the two timeouts on this timer; its 30 s default let slow clients pile up.
    connectionsCheckingInterval: Math.min(5000, Math.max(250, headersTimeout / 4)),
  };
  // With TLS_CERT_FILE / TLS_KEY_FILE the same listener speaks HTTPS only (docs/operations.md, HTTPS).
  const tls = config.tls;
  const server: Server = tls ? createHttpsServer({ ...options, ...readTlsPair(tls) }, accept) : createServer(options, accept);
  const reloadTls = () => {
    if (!tls) return;
    try {
      (server as HttpsServer).setSecureContext(readTlsPair(tls));
      log.info({ port, cert: tls.certFile }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err, port }, 'TLS certificate not reloaded; the current one stays in use');
    }
  };
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // No traffic either way for this long while a request is open (a client that stopped reading
  // its answer): the socket is destroyed.
  server.timeout = Math.max(requestTimeout, 30_000);
  const limit = openFileLimit();
  server.maxConnections = connectionCap(config.maxConnections, limit);
  if (server.maxConnections < config.maxConnections) {
    log.warn({ max_connections: server.maxConnections, descriptor_limit: limit }, 'MAX_CONNECTIONS lowered to fit the open-file limit');
  }
  // Under TLS the requests' socket is the TLS socket, not the TCP connection under it.
  const onRequestSocket = (socket: Socket) => {
    // Node closes the socket of an answer sent with Connection: close by destroySoon() (as does
    // node-server after draining a body); with part of the request's body still to come, linger.
    const destroySoon = socket.destroySoon.bind(socket);
    socket.destroySoon = () => {
      if (lingering.has(socket)) return;
      const req = lastRequest.get(socket);
      if (!req || req.complete || socket.readableEnded || socket.destroyed) return destroySoon();
      lingering.add(socket);
      lingerThenClose(socket, req, destroySoon);
    };
  };
  server.on('connection', (socket: Socket) => {
    metrics.httpConnections.inc();
    socket.once('close', () => metrics.httpConnections.dec());
    if (!tls) onRequestSocket(socket);
  });
  if (tls) server.on('secureConnection', onRequestSocket);
  // Past the cap Node accepts and closes at once, so the listener keeps working for later clients.
  server.on('drop', (data?: { remoteAddress?: string }) => {
    metrics.httpConnectionsClosed.inc({ reason: 'limit' });
    warn.limit({ client_ip: data?.remoteAddress, max_connections: server.maxConnections }, 'connection refused: MAX_CONNECTIONS reached');
  });
  // Requests Node's parser refuses (bad framing, Content-Length with Transfer-Encoding, too slow)
  // still get the envelope, never a bare status line, and their socket is closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // The answer is out; the parser's complaints (a cut body, its request timeout) change nothing:
    // the lingering close ends on its own bounds.
    if (lingering.has(socket)) return;
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timedOut) metrics.httpConnectionsClosed.inc({ reason: 'timeout' });
    if (err.code === 'ECONNRESET' || !socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    if (timedOut)
      answerAndClose(socket, new TransportError('REQUEST_TIMEOUT', `the request did not arrive within ${config.requestTimeoutS} s`), 'Request Timeout');
    else if (err.code === 'HPE_HEADER_OVERFLOW') {
      answerAndClose(socket, new TransportError('PAYLOAD_TOO_LARGE', 'the request headers are too large'), 'Request Header Fields Too Large');
    } else answerAndClose(socket, new TransportError('MALFORMED_REQUEST', 'the request is not valid HTTP/1.1'), 'Bad Request');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 5000).unref();
          }),
        reloadTls,
      });
    });
  });
}
