// The framework floor: Hono on @hono/node-server answering the ceiling's body from one route, with
// no middleware. What the gateway adds on top (request id, access log, metrics, auth, validation,
// the envelope) is the difference between this row and the gateway's.
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';

const body = JSON.stringify({
  data: { id: 1, username: 'bench', role: 'admin', active: true },
  meta: { request_id: 'x', timestamp: new Date().toISOString() },
});
const app = new Hono();
app.get('/', (c) => c.body(body, 200, { 'Content-Type': 'application/json' }));
const server = createServer(getRequestListener(app.fetch));
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
