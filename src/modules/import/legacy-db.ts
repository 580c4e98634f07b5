import { existsSync } from 'node:fs';
import Sqlite, { type Database } from 'better-sqlite3';

/** A refusal of the import: printed as one line, nothing changed. */
export class ImportError extends Error {
  override name = 'ImportError';
}

/** Tables and columns of the FastAPI backend's SQLite file this importer reads. */
const REQUIRED: Record<string, string[]> = {
  users: ['id', 'username', 'password_hash', 'role'],
  work_orders: ['id', 'product_code', 'lot_no', 'qty', 'planned_start', 'planned_end'],
  work_order_stages: ['id', 'work_order_id', 'stage_name', 'planned_start', 'planned_end', 'actual_start', 'actual_end', 'status'],
  issues: ['id', 'work_order_stage_id', 'type', 'description', 'created_by', 'created_at'],
};

/** Optional tables: imported when present with these columns, reported when present without them. */
const OPTIONAL: Record<string, string[]> = {
  stage_assignments: ['id', 'user_id', 'work_order_stage_id'],
  machines: ['id', 'name'],
  machine_readings: ['id', 'machine_id', 'reading_type', 'value'],
};

/** Tables only the gateway's own schema has (migrations/sqlite). */
const GATEWAY_TABLES = ['gateway_meta', '__drizzle_migrations'];

/** Where the old backend may have kept a reading's time, in order of preference. */
const READING_TIME_COLUMNS = ['timestamp', 'recorded_at', 'created_at'];

export type Cell = string | number | bigint | Buffer | null;
export type LegacyRow = Record<string, Cell>;

/** The old database, opened read-only and checked against the expected schema. */
export interface LegacyDb {
  /** Optional parts present: table name → true; reasons for optional tables that cannot be read. */
  has(table: 'stage_assignments' | 'machines' | 'machine_readings' | 'issues.status'): boolean;
  notes: string[];
  readingTimeColumn: string | undefined;
  rows(table: string): LegacyRow[];
  iterate(table: string): IterableIterator<LegacyRow>;
  close(): void;
}

function columnsOf(db: Database, table: string): Set<string> {
  return new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((c) => c.name));
}

export function openLegacy(file: string): LegacyDb {
  if (!existsSync(file)) throw new ImportError(`no file at ${file}`);
  let db: Database;
  try {
    db = new Sqlite(file, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    throw new ImportError(`${file} is not a readable SQLite database: ${(err as Error).message}`);
  }
  // A gateway database (a backup, another site's file) has every legacy table and column read
  // below, and more: importing it would copy users and machines and skip the rest as foreign.
  if (GATEWAY_TABLES.some((t) => columnsOf(db, t).size > 0)) {
    db.close();
    throw new ImportError(`${file} is a gateway database, not the FastAPI backend's (a gateway backup is brought back with \`gateway restore\`)`);
  }
  const missing: string[] = [];
  for (const [table, cols] of Object.entries(REQUIRED)) {
    const have = columnsOf(db, table);
    if (have.size === 0) missing.push(`table ${table}`);
    else for (const c of cols) if (!have.has(c)) missing.push(`${table}.${c}`);
  }
  if (missing.length > 0) {
    db.close();
    throw new ImportError(`${file} is not a database of the FastAPI backend: missing ${missing.join(', ')}`);
  }
  const present = new Set<string>();
  const notes: string[] = [];
  for (const [table, cols] of Object.entries(OPTIONAL)) {
    const have = columnsOf(db, table);
    if (have.size === 0) continue;
    const lacking = cols.filter((c) => !have.has(c));
    if (lacking.length > 0) notes.push(`table ${table} not imported: it has no ${lacking.join(', ')}`);
    else present.add(table);
  }
  const readingCols = columnsOf(db, 'machine_readings');
  const readingTimeColumn = READING_TIME_COLUMNS.find((c) => readingCols.has(c));
  if (present.has('machine_readings') && !readingTimeColumn) {
    present.delete('machine_readings');
    notes.push(`table machine_readings not imported: it has none of ${READING_TIME_COLUMNS.join(', ')}`);
  }
  if (present.has('machine_readings') && !present.has('machines')) {
    present.delete('machine_readings');
    notes.push('table machine_readings not imported: there is no usable machines table');
  }
  if (columnsOf(db, 'issues').has('status')) present.add('issues.status');
  return {
    has: (t) => present.has(t),
    notes,
    readingTimeColumn,
    rows: (table) => db.prepare(`SELECT * FROM "${table}" ORDER BY id`).all() as LegacyRow[],
    iterate: (table) => db.prepare(`SELECT * FROM "${table}" ORDER BY id`).iterate() as IterableIterator<LegacyRow>,
    close: () => db.close(),
  };
}
