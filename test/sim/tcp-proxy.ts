import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP relay between a client and a server that a test can freeze: while paused nothing passes
 * in either direction but both connections stay open, as on a stalled network path or a PLC
 * whose communication task hangs.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private paused = false;
  private down = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  start(): Promise<void> {
    const server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = new Socket();
      upstream.connect(this.target.port, this.target.host);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.on('data', (chunk) => to.write(chunk));
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
        if (this.paused) from.pause();
      }
    });
    this.server = server;
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
  }

  pause(): void {
    this.paused = true;
    for (const s of this.sockets) s.pause();
  }

  resume(): void {
    this.paused = false;
    for (const s of this.sockets) s.resume();
  }

  /** Closes every relayed connection at once: what a client sees of a server restart. */
  drop(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** While down, connections are dropped and new ones closed as they arrive (the server is restarting). */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.drop();
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
