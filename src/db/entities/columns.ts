import type { Database, RunResult } from 'better-sqlite3';

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
