import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/lib/package-root.ts';
import type pg from 'pg';
import { quoteIdent } from './pool.ts';

export const PG_MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'migrations', 'postgres');

/** The SQL files in order of their number prefix. */
export function listMigrations(dir = PG_MIGRATIONS_DIR): Array<{ version: string; sql: string }> {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

/**
 * Applies pending HQ migrations, each in its own transaction, recording it in
 * hq_schema_migrations. An advisory lock keeps two concurrent runs from both applying; a second
 * run finds everything recorded and changes nothing. Returns the versions it applied.
 */
export async function migrateHq(pool: pg.Pool, schema: string): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`gw_hq_migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET search_path TO ${quoteIdent(schema)}`);
    await client.query('CREATE TABLE IF NOT EXISTS hq_schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM hq_schema_migrations')).rows.map((r) => r.version));
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO hq_schema_migrations (version) VALUES ($1)', [m.version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`HQ migration ${m.version} failed: ${(err as Error).message}`);
      }
      applied.push(m.version);
    }
    // Partitions for readings from a year back to a year ahead, as the owner; pushes add others
    // on demand, within the window of sync_settings (migration 0004).
    const now = Date.now();
    await client.query('SELECT gw_create_reading_partitions($1, $2)', [new Date(now - 366 * 86400_000), new Date(now + 366 * 86400_000)]);
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`gw_hq_migrate:${schema}`]).catch(() => {});
    client.release();
  }
  return applied;
}
