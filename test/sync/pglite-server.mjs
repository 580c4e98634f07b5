// Embedded PostgreSQL (PGlite) behind a socket, in its own process: loading PGlite's WASM
// inside the test runner is slow, and a child process is a closer stand-in for a real server.
// Prints "port N" once it listens; exits when its parent's stdin closes.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const db = await PGlite.create();
let server;
for (let tries = 0; tries < 20 && !server; tries++) {
  const port = 20000 + Math.floor(Math.random() * 30000);
  const candidate = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 32 });
  try {
    await candidate.start();
    server = candidate;
    process.stdout.write(`port ${port}\n`);
  } catch {
    // port taken: try another
  }
}
if (!server) {
  process.stderr.write('no free port\n');
  process.exit(1);
}
process.stdin.resume();
process.stdin.on('end', async () => {
  await server.stop();
  await db.close();
  process.exit(0);
});
