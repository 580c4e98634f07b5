import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSIGNMENT_COLUMNS } from '../src/db/entities/assignments.ts';
import { ISSUE_COLUMNS } from '../src/db/entities/issues.ts';
import { MACHINE_COLUMNS } from '../src/db/entities/machines.ts';
import { STAGE_COLUMNS } from '../src/db/entities/stages.ts';
import { USER_COLUMNS } from '../src/db/entities/users.ts';
import { WORK_ORDER_COLUMNS } from '../src/db/entities/work-orders.ts';
import { issues, machines, stageAssignments, users, workOrderStages, workOrders } from '../src/db/schema.ts';
import { openStore, type Store } from '../src/db/store.ts';
import { TABLES } from '../sync/tables.ts';

/** Each data module's column list beside its drizzle table. */
const ENTITIES: Array<{ table: SQLiteTable; columns: Record<string, string> }> = [
  { table: users, columns: USER_COLUMNS },
  { table: machines, columns: MACHINE_COLUMNS },
  { table: workOrders, columns: WORK_ORDER_COLUMNS },
  { table: workOrderStages, columns: STAGE_COLUMNS },
  { table: stageAssignments, columns: ASSIGNMENT_COLUMNS },
  { table: issues, columns: ISSUE_COLUMNS },
];

/** Kept on the site only: the id a row had in the old FastAPI backend (the import's bookkeeping). */
const LOCAL_ONLY = new Set(['legacy_id']);

let dir: string;
let store: Store;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gw-columns-'));
  store = openStore(path.join(dir, 'gw.db'), 1);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(ENTITIES.map((e) => ({ ...e, name: getTableName(e.table) })))('the data module of $name', ({ table, columns, name }) => {
  it("lists drizzle's columns, under drizzle's property names, in table order", () => {
    const drizzle = getTableColumns(table);
    expect(Object.keys(columns)).toEqual(Object.keys(drizzle));
    expect(Object.values(columns)).toEqual(Object.values(drizzle).map((c) => c.name));
  });

  it('lists the columns the migrations created', () => {
    const created = store.sqlite.prepare(`SELECT name FROM pragma_table_info('${name}') ORDER BY cid`).pluck().all();
    expect(Object.values(columns)).toEqual(created);
  });

  it('lists what sync replicates, besides the site-only columns', () => {
    const spec = TABLES.find((t) => t.name === name);
    expect(spec, `${name} in sync/tables.ts`).toBeDefined();
    expect(Object.values(columns).filter((c) => !LOCAL_ONLY.has(c))).toEqual(Object.keys(spec?.cols ?? {}));
  });
});

describe('writes', () => {
  it('are not reachable through the store, only through a command', async () => {
    for (const entity of Object.values(store.data)) {
      for (const write of ['insert', 'update', 'remove', 'setStatus', 'setRole', 'setActive', 'setPassword', 'seen']) expect(entity).not.toHaveProperty(write);
    }
    const names = await store.command((tx) => Object.keys(tx.stages));
    expect(names).toEqual(expect.arrayContaining(['byId', 'insert', 'update']));
  });
});
