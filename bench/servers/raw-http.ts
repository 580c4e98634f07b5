// The ceiling: the plainest node:http server answering a small JSON body.
import { createServer } from 'node:http';

const body = JSON.stringify({
  data: { id: 1, username: 'bench', role: 'admin', active: true },
  meta: { request_id: 'x', timestamp: new Date().toISOString() },
});
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
