import type pg from 'pg';
import { quoteIdent } from './pool.ts';

/** Tables a site reads and writes (its own rows only, by row-level security). */
const SITE_TABLES = [
  'users',
  'machines',
  'work_orders',
  'work_order_stages',
  'stage_assignments',
  'issues',
  'machine_readings',
  'events',
  'gateway_runs',
  'downtimes',
  'shift_oee',
  'stage_machines',
];

/**
 * Role names are cluster-wide while HQ schemas are per database: the name carries both, so two
 * HQ databases (or schemas) on one server never share a site's login.
 */
export function siteRoleName(database: string, schema: string, site: number): string {
  const base = schema === 'public' ? database : `${database}_${schema}`;
  return `${base}_site_${site}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * Creates (or updates the password of) the login role of one site, least privilege: it reads
 * and writes only its own rows of the synced tables, reads its change log, advances its own push
 * cursor, reports its pull cursor (for pruning), and calls the partition helper (the only function
 * granted to it). Returns the role name.
 */
export async function addSite(pool: pg.Pool, schema: string, site: number, password: string): Promise<string> {
  if (!Number.isInteger(site) || site < 1 || site > 1023) throw new Error('site must be an integer 1–1023');
  const client = await pool.connect();
  try {
    const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db ?? 'hq';
    const role = siteRoleName(db, schema, site);
    const s = quoteIdent(schema);
    const r = quoteIdent(role);
    await client.query('BEGIN');
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0;
    // Parameters cannot be bound in utility statements; the literal is escaped by PostgreSQL.
    const pw = (await client.query<{ q: string }>('SELECT quote_literal($1) AS q', [password])).rows[0]?.q;
    if (!pw) throw new Error('could not quote the password');
    await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${pw}`);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE ON ${SITE_TABLES.map((t) => `${s}.${quoteIdent(t)}`).join(', ')} TO ${r}`);
    await client.query(`GRANT SELECT ON ${s}.sync_sites, ${s}.sync_change_log TO ${r}`);
    await client.query(`GRANT SELECT, UPDATE ON ${s}.sync_push_cursor TO ${r}`);
    await client.query(`GRANT SELECT, UPDATE (xid, log_id, reported_at) ON ${s}.sync_pull_cursor TO ${r}`);
    // Creates partitions only within sync_settings' window around now (migration 0004).
    await client.query(`GRANT EXECUTE ON FUNCTION ${s}.gw_ensure_reading_partitions(timestamptz, timestamptz) TO ${r}`);
    await client.query(`INSERT INTO ${s}.sync_sites (site_id, role_name) VALUES ($1, $2) ON CONFLICT (site_id) DO UPDATE SET role_name = EXCLUDED.role_name`, [
      site,
      role,
    ]);
    await client.query(`INSERT INTO ${s}.sync_push_cursor (site_id) VALUES ($1) ON CONFLICT (site_id) DO NOTHING`, [site]);
    await client.query(`INSERT INTO ${s}.sync_pull_cursor (site_id) VALUES ($1) ON CONFLICT (site_id) DO NOTHING`, [site]);
    await client.query('COMMIT');
    return role;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The URL a site should use: the owner's URL with the site role as user and no password. */
export function siteUrl(ownerUrl: string, role: string): string {
  const u = new URL(ownerUrl);
  u.username = role;
  u.password = '';
  return u.toString();
}
