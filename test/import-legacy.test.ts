import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import bcrypt from 'bcryptjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { siteOfId } from '../src/db/ids.ts';
import { createUser } from '../src/modules/auth/service.ts';
import { importLegacy } from '../src/modules/import/importer.ts';
import { formatReport } from '../src/modules/import/report.ts';
import { body, makeGateway, rowCount, type TestGateway } from './helpers/app.ts';
import { runCli } from './helpers/child.ts';

// The FastAPI backend's tables exactly as SQLAlchemy created them in database.db.
const LEGACY_SCHEMA = `
CREATE TABLE users (id INTEGER NOT NULL, username VARCHAR, password_hash VARCHAR, role VARCHAR, PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_users_username ON users (username);
CREATE TABLE work_orders (id INTEGER NOT NULL, product_code VARCHAR, lot_no VARCHAR, qty INTEGER, planned_start DATETIME, planned_end DATETIME, PRIMARY KEY (id));
CREATE TABLE work_order_stages (id INTEGER NOT NULL, work_order_id INTEGER, stage_name VARCHAR, planned_start DATETIME, planned_end DATETIME,
  actual_start DATETIME, actual_end DATETIME, status VARCHAR, PRIMARY KEY (id), FOREIGN KEY(work_order_id) REFERENCES work_orders (id));
CREATE TABLE issues (id INTEGER NOT NULL, work_order_stage_id INTEGER, type VARCHAR, description VARCHAR, created_by INTEGER, created_at DATETIME,
  status VARCHAR, PRIMARY KEY (id), FOREIGN KEY(work_order_stage_id) REFERENCES work_order_stages (id), FOREIGN KEY(created_by) REFERENCES users (id));
CREATE TABLE stage_assignments (id INTEGER NOT NULL, user_id INTEGER, work_order_stage_id INTEGER, PRIMARY KEY (id),
  FOREIGN KEY(user_id) REFERENCES users (id), FOREIGN KEY(work_order_stage_id) REFERENCES work_order_stages (id));
CREATE TABLE machines (id INTEGER NOT NULL, name VARCHAR, machine_type VARCHAR, location VARCHAR, status VARCHAR, PRIMARY KEY (id));
CREATE TABLE machine_readings (id INTEGER NOT NULL, machine_id INTEGER, reading_type VARCHAR, value FLOAT, unit VARCHAR, timestamp DATETIME,
  PRIMARY KEY (id), FOREIGN KEY(machine_id) REFERENCES machines (id));
`;

// An OpenBSD bcrypt test vector ("abc"), produced by an implementation other than the one we verify with.
const OPENBSD_ABC = '$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i';

let dir: string;
let gw: TestGateway;
let legacyFile: string;

function buildLegacy(file: string): void {
  const db = new Sqlite(file);
  // SQLAlchemy never switched SQLite's foreign keys on: old files can hold dangling references.
  db.pragma('foreign_keys = OFF');
  db.exec(LEGACY_SCHEMA);
  const user = db.prepare('INSERT INTO users (id, username, password_hash, role) VALUES (?, ?, ?, ?)');
  user.run(1, 'alice', bcrypt.hashSync('alice-old-pw', 4), 'planner');
  user.run(2, 'bob', bcrypt.hashSync('bob-old-pw', 4).replace(/^\$2b\$/, '$2y$'), 'worker');
  user.run(3, 'carol', bcrypt.hashSync('carol-old-pw', 4), 'supervisor');
  user.run(4, 'erin', OPENBSD_ABC, 'Manager');
  user.run(5, 'Admin', bcrypt.hashSync('old-admin-pw', 4), 'admin');
  const wo = db.prepare('INSERT INTO work_orders VALUES (?, ?, ?, ?, ?, ?)');
  wo.run(10, 'P-100', 'LOT-1', 500, '2026-03-02 06:00:00.000000', '2026-03-02 14:00:00.000000');
  wo.run(11, 'P-101', 'LOT-2', 50, 'next tuesday', '2026-03-03 14:00:00');
  const st = db.prepare('INSERT INTO work_order_stages VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  // Inserted out of id order: seq must follow the ids.
  st.run(103, 10, 'packing', '2026-03-02 12:00:00', '2026-03-02 14:00:00', null, null, 'planned');
  st.run(101, 10, 'cutting', '2026-03-02 06:00:00', '2026-03-02 08:00:00', '2026-03-02 06:10:00.250000', '2026-03-02 07:55:00', 'done');
  st.run(104, 10, 'inspection', '2026-03-02 10:00:00', '2026-03-02 12:00:00', null, null, 'waiting');
  st.run(102, 10, 'assembly', '2026-03-02 08:00:00', '2026-03-02 10:00:00', '2026-03-02 08:05:00', null, 'in_progress');
  st.run(110, 11, 'cutting', null, null, null, null, 'planned');
  const asg = db.prepare('INSERT INTO stage_assignments VALUES (?, ?, ?)');
  asg.run(1, 2, 102);
  asg.run(2, 3, 102);
  const iss = db.prepare('INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, ?)');
  iss.run(1, 101, 'quality', 'burr on edge', 1, '2026-03-02 07:00:00', 'resolved');
  iss.run(2, 102, 'Coolant leak', 'puddle under press', 2, '2026-03-02 09:30:00', 'open');
  iss.run(3, 102, 'safety', 'guard open', 3, '2026-03-02 09:40:00', 'open');
  iss.run(4, 102, 'tooling', 'worn bit', 2, '2026-03-02 09:45:00', 'escalated');
  db.prepare('INSERT INTO machines VALUES (?, ?, ?, ?, ?)').run(7, 'press-07', 'hydraulic press', 'hall A', 'running');
  const rd = db.prepare('INSERT INTO machine_readings VALUES (?, ?, ?, ?, ?, ?)');
  rd.run(1, 7, 'temperature', 41.5, '°C', '2026-03-02 08:00:00');
  rd.run(2, 7, 'temperature', 42.25, '°C', '2026-03-02 08:01:00');
  rd.run(3, 99, 'temperature', 1, '°C', '2026-03-02 08:02:00');
  db.close();
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-legacy-'));
  legacyFile = path.join(dir, 'database.db');
  buildLegacy(legacyFile);
  gw = makeGateway({ PLANT_TZ: 'Europe/Berlin' });
});
afterEach(() => {
  gw.close();
  rmSync(dir, { recursive: true, force: true });
});

const TABLES = ['users', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues', 'machines', 'machine_readings', 'events'];
const counts = () => Object.fromEntries(TABLES.map((t) => [t, rowCount(gw.ctx, t)]));

async function login(username: string, password: string) {
  return gw.req('POST', '/auth/login', { body: { username, password } });
}

describe('gateway import-legacy', () => {
  it('imports the old database once, in this site’s id range, reporting what it skipped and why', async () => {
    await createUser(gw.ctx, { username: 'admin', password: 'current-admin-pw', role: 'admin' });
    const first = importLegacy(gw.ctx, legacyFile);
    expect(first.counts.users).toEqual({ imported: 3, already: 1, skipped: 1 });
    expect(first.counts.work_orders).toEqual({ imported: 1, already: 0, skipped: 1 });
    expect(first.counts.work_order_stages).toEqual({ imported: 3, already: 0, skipped: 2 });
    expect(first.counts.stage_assignments).toEqual({ imported: 1, already: 0, skipped: 1 });
    expect(first.counts.issues).toEqual({ imported: 2, already: 0, skipped: 2 });
    expect(first.counts.machines.imported).toBe(1);
    expect(first.counts.machine_readings).toEqual({ imported: 2, already: 0, skipped: 1 });
    const reasons = first.skipped.map((s) => `${s.table} ${s.legacyId}: ${s.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^users 3: carol: unknown role 'supervisor'/),
        expect.stringMatching(/^work_orders 11: planned_start 'next tuesday' is not a date/),
        expect.stringMatching(/^work_order_stages 104: unknown stage status 'waiting'/),
        expect.stringMatching(/^work_order_stages 110: work order 11 was not imported/),
        expect.stringMatching(/^stage_assignments 2: user 3 was not imported/),
        expect.stringMatching(/^issues 3: reporter \(user 3\) was not imported/),
        expect.stringMatching(/^issues 4: unknown issue status 'escalated'/),
        expect.stringMatching(/^machine_readings 3: machine 99 was not imported/),
      ]),
    );
    const text = formatReport(first).join('\n');
    expect(text).toContain("unknown role 'supervisor'");
    const alice = first.mapping.users.find((m) => m.legacyId === 1);
    expect(alice && siteOfId(alice.id)).toBe(1);
    expect(text).toContain(`users 1 → ${alice?.id}`);
    expect(first.mapping.users.find((m) => m.legacyId === 5)?.how).toBe('linked');

    const after = counts();
    const second = importLegacy(gw.ctx, legacyFile);
    expect(counts()).toEqual(after);
    for (const c of Object.values(second.counts)) expect(c.imported).toBe(0);
    expect(second.counts.users.already).toBe(4);
    expect(second.counts.issues.already).toBe(2);
    expect(second.counts.machine_readings.already).toBe(2);
    expect(second.mapping.work_orders).toEqual(first.mapping.work_orders.map((m) => ({ ...m, how: 'already' })));
  });

  it('keeps plant times, stage order, status, issue history and types, and writes events for the history', async () => {
    const report = importLegacy(gw.ctx, legacyFile);
    const woId = report.mapping.work_orders[0]?.id ?? 0;
    const planner = await gw.login('planner', 'lead');
    const wo = await body<{ planned_start: string; planned_end: string; status: string }>(await gw.req('GET', `/workorders/${woId}`, { token: planner.token }));
    // Europe/Berlin is UTC+1 in early March.
    expect(wo.data.planned_start).toBe('2026-03-02T05:00:00.000Z');
    expect(wo.data.planned_end).toBe('2026-03-02T13:00:00.000Z');
    expect(wo.data.status).toBe('in_progress');
    const stages = await body<Array<{ seq: number; stage_name: string; status: string; actual_start: string | null; actual_end: string | null }>>(
      await gw.req('GET', `/workorders/${woId}/stages`, { token: planner.token }),
    );
    expect(stages.data.map((s) => [s.seq, s.stage_name, s.status])).toEqual([
      [1, 'cutting', 'done'],
      [2, 'assembly', 'in_progress'],
      [3, 'packing', 'planned'],
    ]);
    expect(stages.data[0]?.actual_start).toBe('2026-03-02T05:10:00.250Z');
    expect(stages.data[0]?.actual_end).toBe('2026-03-02T06:55:00.000Z');

    const leak = report.mapping.issues.find((m) => m.legacyId === 2)?.id;
    const issue = await body<{ type: string; description: string; created_at: string; history: Array<{ status: string }> }>(
      await gw.req('GET', `/issues/${leak}`, { token: planner.token }),
    );
    expect(issue.data.type).toBe('other');
    expect(issue.data.description).toBe('[legacy type: Coolant leak] puddle under press');
    expect(issue.data.created_at).toBe('2026-03-02T08:30:00.000Z');
    const burr = report.mapping.issues.find((m) => m.legacyId === 1)?.id;
    const resolved = await body<{ status: string; history: Array<{ status: string }> }>(await gw.req('GET', `/issues/${burr}`, { token: planner.token }));
    expect(resolved.data.status).toBe('resolved');
    expect(resolved.data.history.map((h) => h.status)).toEqual(['open', 'resolved']);

    const machines = await body<Array<{ name: string; latest: Record<string, { value: number; timestamp: string }> }>>(
      await gw.req('GET', '/machines', { token: planner.token }),
    );
    expect(machines.data.find((m) => m.name === 'press-07')?.latest.temperature).toMatchObject({ value: 42.25, timestamp: '2026-03-02T07:01:00.000Z' });

    const kinds = gw.ctx.store.sqlite
      .prepare("SELECT kind, count(*) AS n FROM events WHERE json_extract(data, '$.imported_from') = 'fastapi' GROUP BY kind ORDER BY kind")
      .all();
    expect(kinds).toEqual([
      { kind: 'issue.opened', n: 2 },
      { kind: 'machine.created', n: 1 },
      { kind: 'stage.assigned', n: 1 },
      { kind: 'stage.done', n: 1 },
      { kind: 'stage.started', n: 2 },
      { kind: 'work_order.created', n: 1 },
    ]);
  });

  it('lets old passwords log in once with bcrypt, then stores scrypt; a wrong password changes nothing', async () => {
    importLegacy(gw.ctx, legacyFile);
    const hashOf = (u: string) => (gw.ctx.store.sqlite.prepare('SELECT password_hash AS h FROM users WHERE username = ?').get(u) as { h: string }).h;
    expect(hashOf('bob')).toMatch(/^\$2y\$/);
    expect((await login('bob', 'wrong-password')).status).toBe(401);
    expect(hashOf('bob')).toMatch(/^\$2y\$/);
    for (const [user, pw] of [
      ['alice', 'alice-old-pw'],
      ['bob', 'bob-old-pw'],
      ['erin', 'abc'],
    ] as const) {
      const res = await login(user, pw);
      expect(res.status).toBe(200);
      expect(hashOf(user)).toMatch(/^scrypt\$/);
      expect((await login(user, pw)).status).toBe(200);
    }
    const erin = await body<{ user: { role: string } }>(await login('erin', 'abc'));
    expect(erin.data.user.role).toBe('manager');
  });

  it('writes nothing on a dry run, and refuses a file that is not the old database', () => {
    const before = counts();
    const dry = importLegacy(gw.ctx, legacyFile, { dryRun: true });
    expect(dry.counts.work_orders.imported).toBe(1);
    expect(counts()).toEqual(before);

    const other = path.join(dir, 'other.db');
    const db = new Sqlite(other);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT)');
    db.close();
    expect(() => importLegacy(gw.ctx, other)).toThrow(/missing users.password_hash, users.role, table work_orders/);
    expect(() => importLegacy(gw.ctx, path.join(dir, 'nope.db'))).toThrow('no file at');
    expect(counts()).toEqual(before);
  });

  it('runs as `gateway import-legacy` and prints the report', () => {
    const env = {
      NODE_ENV: 'development',
      DATABASE_PATH: path.join(dir, 'cli', 'g.db'),
      CONFIG_DIR: path.join(dir, 'config'),
      SITE_ID: '7',
      PLANT_TZ: 'Europe/Berlin',
    };
    const res = runCli(['import-legacy', legacyFile], env);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/work_orders\s+1\s+0\s+1/);
    expect(res.stdout).toMatch(/users 1 → 7\d{12}/);
    const bad = runCli(['import-legacy', path.join(dir, 'nope.db')], env);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(`import-legacy: no file at ${path.join(dir, 'nope.db')}`);
  }, 120_000);
});
