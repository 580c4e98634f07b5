import type { Database, RunResult, Statement } from 'better-sqlite3';

/**
 * An entity's column list: every property of its drizzle row → its SQL column name, in table
 * order. `satisfies ColumnList<Row>` makes a column added to schema.ts a compile error in the
 * entity's module until it is listed there; test/data-columns.test.ts checks the names against
 * drizzle's `getTableColumns` and against sync/tables.ts.
 */
export type ColumnList<Row> = { readonly [K in keyof Row]-?: string };

/** `"work_order_id" AS "workOrderId", …`: a select list whose rows carry drizzle's property names. */
export function selectList(columns: Record<string, string>, alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return Object.entries(columns)
    .map(([key, col]) => `${prefix}"${col}" AS "${key}"`)
    .join(', ');
}

/**
 * An INSERT of every listed column, so a column added to the list is written too. A field the row
 * leaves out is bound as its value in `defaults`, else NULL (`defaults` mirrors the schema's
 * defaults of NOT NULL columns); booleans are bound as 0/1, as drizzle stores them. With
 * `orIgnore`, a row whose key exists is left as it is (`changes` is 0).
 */
export function insertStatement<Row extends object>(
  sqlite: Database,
  table: string,
  columns: ColumnList<Row>,
  opts: { defaults?: Partial<Row>; orIgnore?: boolean } = {},
): (row: Partial<Row>) => RunResult {
  const keys = Object.keys(columns) as Array<keyof Row & string>;
  const names = keys.map((k) => columns[k]);
  const defaults: Partial<Row> = opts.defaults ?? {};
  const verb = opts.orIgnore ? 'INSERT OR IGNORE' : 'INSERT';
  const statement = sqlite.prepare(`${verb} INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`);
  const param = (v: unknown) => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v);
  return (row) => statement.run(keys.map((k) => param(row[k] === undefined ? defaults[k] : row[k])));
}

/** What a list read with optional filters is made of (see `filteredListStatements`). */
export interface FilteredList {
  /** The select list and table, e.g. `id, name FROM machines`. */
  selectFrom: string;
  /** Each filter's condition with one `?`, in the order the caller passes their values. */
  conditions: readonly string[];
  /** The keyset cursor's condition (three `?`), added when a page follows another. */
  afterCursor: string;
  orderBy: string;
  /** Rows as arrays (better-sqlite3's raw mode), for the hot reads read by position. */
  raw?: boolean;
}

/**
 * A list read with optional filters: one statement per combination of present filters and cursor
 * (at most 2^(n+1)), prepared on first use and kept, so no list request prepares SQL again.
 */
export function filteredListStatements<Row>(sqlite: Database, list: FilteredList) {
  const statements = new Map<string, Statement<unknown[], Row>>();
  return (present: readonly boolean[], withCursor: boolean): Statement<unknown[], Row> => {
    const key = `${present.map((p) => (p ? 1 : 0)).join('')}${withCursor ? 1 : 0}`;
    let statement = statements.get(key);
    if (!statement) {
      const conditions = list.conditions.filter((_, i) => present[i]);
      if (withCursor) conditions.push(list.afterCursor);
      const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
      statement = sqlite.prepare<unknown[], Row>(`SELECT ${list.selectFrom}${where} ORDER BY ${list.orderBy} LIMIT ?`);
      if (list.raw) statement.raw(true);
      statements.set(key, statement);
    }
    return statement;
  };
}
