import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { errorBody } from './envelope.ts';

type FetchHandler = (req: Request, env: unknown) => Response | Promise<Response>;

/** The listening HTTP server of the gateway. */
export interface HttpServer {
  server: Server;
  port: number;
  /** Stops accepting, closes idle connections, and cuts the rest after a grace period. */
  stop(): Promise<void>;
}

/** Writes a complete error response on a socket Node's parser gave up on, then closes it. */
function answerRaw(socket: Socket, err: AppError, reason: string): void {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(err, requestId));
  socket.end(
    `HTTP/1.1 ${err.status} ${reason}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Starts the HTTP server for `fetch` on the configured host and port. */
export function startHttpServer(ctx: AppContext, fetch: FetchHandler): Promise<HttpServer> {
  const server = createServer(getRequestListener(fetch, { hostname: ctx.config.host }));
  // Requests Node's parser refuses (bad framing, Content-Length with Transfer-Encoding, ...)
  // still get the envelope, never a bare 400.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (err.code === 'HPE_HEADER_OVERFLOW')
      answerRaw(socket, new AppError('PAYLOAD_TOO_LARGE', 'the request headers are too large'), 'Request Header Fields Too Large');
    else answerRaw(socket, new AppError('MALFORMED_REQUEST', 'the request is not valid HTTP/1.1'), 'Bad Request');
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.port, ctx.config.host, () => {
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
      });
    });
  });
}
