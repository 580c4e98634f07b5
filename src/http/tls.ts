import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.ts';

/** TLS_CERT_FILE / TLS_KEY_FILE cannot be used; the message is one line naming the key. */
export class TlsFilesError extends Error {
  override name = 'TlsFilesError';
}

/** A certificate and its key, read from their PEM files and checked to belong together. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the PEM pair and builds a secure context from it, so a file that is not PEM, a key of
 * another certificate or an encrypted key fails here, with a message naming the key, and not at
 * the first browser's handshake.
 */
export function readTlsPair(files: { certFile: string; keyFile: string }): TlsPair {
  const read = (key: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFilesError(`${key}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const pair = { cert: read('TLS_CERT_FILE', files.certFile), key: read('TLS_KEY_FILE', files.keyFile) };
  if (!pair.cert.includes('-----BEGIN CERTIFICATE-----')) throw new TlsFilesError(`TLS_CERT_FILE: ${files.certFile} is not a PEM certificate`);
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pair.key.toString('latin1'))) {
    throw new TlsFilesError(`TLS_KEY_FILE: ${files.keyFile} is not an unencrypted PEM private key`);
  }
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new TlsFilesError(`TLS_KEY_FILE: does not fit TLS_CERT_FILE or cannot be used (${(err as Error).message})`);
  }
  return pair;
}

/**
 * Where a plain-HTTP request goes on HTTPS: the host it asked for, on the HTTPS port, same path.
 * The location is joined as a string, never resolved against a base: a path starting with // or
 * /\ would otherwise name another host (an open redirect), so such a path gets no location.
 */
export function httpsLocation(host: string | undefined, url: string | undefined, httpsPort: number): string | undefined {
  if (!host || !url || !/^\/(?![/\\])/.test(url)) return undefined;
  try {
    const { hostname } = new URL(`http://${host}`);
    return `https://${hostname}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`;
  } catch {
    return undefined;
  }
}

/**
 * The optional plain-HTTP port (HTTP_REDIRECT_PORT): every request is answered with a redirect to
 * HTTPS and the connection closed; nothing else is served there, and no body is read.
 */
export function startRedirectServer(host: string, port: number, httpsPort: number, log: Logger): Promise<{ port: number; stop(): Promise<void> }> {
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const location = httpsLocation(req.headers.host, req.url, httpsPort);
    if (!location) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('use https\n');
      return;
    }
    // GET and HEAD may be cached as moved; any other method keeps its method and body (308).
    const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
    res.writeHead(status, { location, 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end(`moved to ${location}\n`);
  };
  const server: Server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, answer);
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      log.info({ host, port: bound, https_port: httpsPort }, 'plain HTTP redirects to HTTPS');
      resolve({
        port: bound,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
