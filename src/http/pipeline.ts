import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Most requests one connection may have read but not yet started; one more closes it. */
export const MAX_HELD_REQUESTS = 32;

interface Connection {
  /** A request of this connection is being handled and its response is not yet flushed. */
  busy: boolean;
  /** Pipelined requests read from the socket, waiting for the ones before them. */
  held: Array<[IncomingMessage, ServerResponse]>;
  waitingForDrain: boolean;
  /** This gate stopped reading the socket (Node pauses it for its own reasons too; leave those be). */
  paused: boolean;
}

/** What the gate reports, for metrics and logs. */
export interface PipelineEvents {
  /** Requests held back changed by `delta`. */
  held(delta: number): void;
  /** A connection pipelined more than it may; it is being closed. */
  overflow(socket: Socket): void;
}

/**
 * The "pipelining gate" (a bound on what one connection may queue, on every request's path): it handles one
 * request per connection at a time, in order, and only once the socket has taken the previous
 * response. It is written to cost nothing on the common path (a WeakMap lookup and one 'close'
 * listener per request, no promise): switched off in an A/B against GET /auth/me it moved CPU per
 * request from 82.7 to 83.6 µs, within the noise (docs/benchmarks.md, "Issues 7 and 15"). Node's server calls the handler for every request it parses, and a
 * single read can hold a thousand pipelined requests: a client that never reads its answers made
 * the process build all of them in memory. Here the next request starts only when the previous
 * response is flushed to the socket, reading stops while requests wait, and a connection with
 * more than `maxHeld` waiting is closed. Memory per connection is then one response.
 */
export function serializePipeline(listener: RequestListener, events: PipelineEvents, maxHeld = MAX_HELD_REQUESTS): RequestListener {
  const connections = new WeakMap<Socket, Connection>();

  const connectionOf = (socket: Socket): Connection => {
    const known = connections.get(socket);
    if (known) return known;
    const conn: Connection = { busy: false, held: [], waitingForDrain: false, paused: false };
    connections.set(socket, conn);
    socket.once('close', () => {
      events.held(-conn.held.length);
      conn.held.length = 0;
    });
    return conn;
  };

  const run = (conn: Connection, socket: Socket, req: IncomingMessage, res: ServerResponse) => {
    conn.busy = true;
    // 'close' follows 'finish' (the last byte handed to the socket) and also fires on an abort.
    res.once('close', () => {
      conn.busy = false;
      next(conn, socket);
    });
    listener(req, res);
  };

  const next = (conn: Connection, socket: Socket) => {
    if (conn.busy || conn.waitingForDrain || socket.destroyed) return;
    if (conn.held.length > 0 && socket.writableNeedDrain) {
      conn.waitingForDrain = true;
      socket.once('drain', () => {
        conn.waitingForDrain = false;
        next(conn, socket);
      });
      return;
    }
    const item = conn.held.shift();
    if (!item) {
      if (conn.paused) {
        conn.paused = false;
        socket.resume();
      }
      return;
    }
    events.held(-1);
    run(conn, socket, item[0], item[1]);
  };

  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    const conn = connectionOf(socket);
    if (!conn.busy && conn.held.length === 0 && !socket.writableNeedDrain) {
      run(conn, socket, req, res);
      return;
    }
    if (conn.held.length >= maxHeld) {
      events.overflow(socket);
      socket.destroy();
      return;
    }
    conn.held.push([req, res]);
    events.held(1);
    // Stop reading: the client's further requests stay in its own send buffer (TCP back-pressure).
    if (!conn.paused) {
      conn.paused = true;
      socket.pause();
    }
    next(conn, socket);
  };
}
