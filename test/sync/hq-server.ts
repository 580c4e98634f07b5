import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * An HQ PostgreSQL for one test file: a fresh database on a real server (TEST_DATABASE_URL, or
 * one answering on 127.0.0.1:5432), else an embedded PGlite behind @electric-sql/pglite-socket
 * so `npm test` needs nothing installed. SYNC_TEST_PGLITE=1 forces PGlite.
 */
export interface HqTestServer {
  kind: 'postgres' | 'pglite';
  /** Owner URL of this file's own database. */
  url: string;
  database: string;
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function findServer(): Promise<string | undefined> {
  if (process.env.SYNC_TEST_PGLITE === '1') return undefined;
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  const user = process.env.PGUSER ?? userInfo().username;
  for (const db of ['test', 'postgres']) {
    const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:5432/${db}`;
    if (await answers(url)) return url;
  }
  return undefined;
}

async function realServer(adminUrl: string): Promise<HqTestServer> {
  const database = `gw_sync_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return {
    kind: 'postgres',
    url: u.toString(),
    database,
    close: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        const roles = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`${database}\\_%`]);
        for (const r of roles.rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
      } finally {
        await c.end();
      }
    },
  };
}

async function pgliteServer(): Promise<HqTestServer> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./pglite-server.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`PGlite server exited with ${code}`)));
  });
  return {
    kind: 'pglite',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    database: 'postgres',
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

export async function startHqServer(): Promise<HqTestServer> {
  const admin = await findServer();
  return admin ? realServer(admin) : pgliteServer();
}
