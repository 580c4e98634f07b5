import { iso } from '../../core/iso.ts';
import type { Database } from 'better-sqlite3';
import { keysetPageOf, type Page, type PageQuery } from '../keyset.ts';
import type { WorkOrderStatus } from '../../core/vocabulary.ts';
import type { workOrders } from '../schema.ts';
import { type ColumnList, filteredListStatements, insertStatement, selectList } from './columns.ts';

/** A row of work_orders under drizzle's property names. */
export type WorkOrderRow = typeof workOrders.$inferSelect;

/** work_orders, in table order. */
export const WORK_ORDER_COLUMNS = {
  id: 'id',
  productCode: 'product_code',
  lotNo: 'lot_no',
  qty: 'qty',
  plannedStart: 'planned_start',
  plannedEnd: 'planned_end',
  status: 'status',
  createdBy: 'created_by',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  legacyId: 'legacy_id',
} as const satisfies ColumnList<WorkOrderRow>;

const ROW = selectList(WORK_ORDER_COLUMNS);

/**
 * Positional rows for GET /workorders and GET /workorders/{id}: better-sqlite3's raw mode returns
 * arrays, each turned into a view by one object literal, instead of drizzle building the query and
 * mapping every row twice per request. Building row objects in native code cost more than the
 * query itself on a page of 50 (docs/benchmarks.md). The order is VIEW_TUPLE's, read by `toView` only.
 */
const VIEW_TUPLE = ['id', 'product_code', 'lot_no', 'qty', 'planned_start', 'planned_end', 'status', 'created_at', 'updated_at'] as const;
/** A work order's view columns in VIEW_TUPLE's order (raw mode); also the key of the row JSON cache. */
export type WorkOrderViewTuple = [number, string, string, number, number, number, WorkOrderStatus, number, number];
type ViewTuple = WorkOrderViewTuple;

/** A work order as the API shows it (the WorkOrder schema of workorders/schemas.ts). */
export const workOrderViewOfTuple = (r: ViewTuple) => ({
  id: r[0],
  product_code: r[1],
  lot_no: r[2],
  qty: r[3],
  planned_start: iso(r[4]),
  planned_end: iso(r[5]),
  status: r[6],
  created_at: iso(r[7]),
  updated_at: iso(r[8]),
});

export type WorkOrderViewOfRow = ReturnType<typeof workOrderViewOfTuple>;
const toView = workOrderViewOfTuple;

/** GET /workorders filters; planned_from/planned_to bound planned_start. */
export interface WorkOrderFilter extends PageQuery {
  status?: WorkOrderStatus | undefined;
  product_code?: string | undefined;
  lot_no?: string | undefined;
  planned_from?: number | undefined;
  planned_to?: number | undefined;
}

/** The filters in a fixed order: each present one adds its condition and one parameter. */
const FILTERS = [
  ['status', 'status = ?'],
  ['product_code', 'product_code = ?'],
  ['lot_no', 'lot_no = ?'],
  ['planned_from', 'planned_start >= ?'],
  ['planned_to', 'planned_start <= ?'],
] as const;
/** Rows after the cursor's (planned_start, id), written as drizzle did so the planner picks the same index. */
const AFTER_CURSOR = '(planned_start > ? OR (planned_start = ? AND id > ?))';

/** How far a work order's stages have got, for its derived status. */
export interface WorkOrderProgress {
  status: WorkOrderStatus;
  stages: number;
  started: number;
  done: number;
}

/** The work-order reads. */
export function workOrderReads(sqlite: Database) {
  const byId = sqlite.prepare<[number], WorkOrderRow>(`SELECT ${ROW} FROM work_orders WHERE id = ?`);
  const viewById = sqlite.prepare<[number], ViewTuple>(`SELECT ${VIEW_TUPLE.join(', ')} FROM work_orders WHERE id = ?`).raw(true);
  const progress = sqlite.prepare<[number], WorkOrderProgress>(
    "SELECT w.status AS status, count(s.id) AS stages, coalesce(sum(s.status <> 'planned'), 0) AS started, coalesce(sum(s.status = 'done'), 0) AS done " +
      'FROM work_orders w LEFT JOIN work_order_stages s ON s.work_order_id = w.id WHERE w.id = ? GROUP BY w.id',
  );
  const listStatement = filteredListStatements<ViewTuple>(sqlite, {
    selectFrom: `${VIEW_TUPLE.join(', ')} FROM work_orders`,
    conditions: FILTERS.map(([, sql]) => sql),
    afterCursor: AFTER_CURSOR,
    orderBy: 'planned_start, id',
    raw: true,
  });
  return {
    byId: (id: number): WorkOrderRow | undefined => byId.get(id),
    /** One work order as the API shows it, or undefined. */
    viewById(id: number): WorkOrderViewOfRow | undefined {
      const row = viewById.get(id);
      return row && toView(row);
    },
    /** One work order's view columns (the row JSON cache's key), or undefined. */
    viewTupleById: (id: number): ViewTuple | undefined => viewById.get(id),
    /** GET /workorders: ordered by planned_start, then id. */
    viewPage(f: WorkOrderFilter): Page<WorkOrderViewOfRow> {
      const { items, nextCursor } = this.viewTuplePage(f);
      return { items: items.map(toView), nextCursor };
    },
    /** viewPage's rows as view columns (the row JSON cache's keys). */
    viewTuplePage(f: WorkOrderFilter): Page<ViewTuple> {
      // Empty strings filter nothing, as before (a falsy status, product or lot was left out).
      const values = [f.status || undefined, f.product_code || undefined, f.lot_no || undefined, f.planned_from, f.planned_to];
      const present = values.map((v) => v !== undefined);
      const params = values.filter((v) => v !== undefined);
      return keysetPageOf<ViewTuple>(f, {
        width: 2,
        keyOf: (r) => [r[4], r[0]],
        fetch: (after, limit) => {
          const statement = listStatement(present, after !== undefined);
          return after ? statement.all(...params, after[0], after[0], after[1], limit) : statement.all(...params, limit);
        },
      });
    },
    /** Its status and how many of its stages exist, have started and are done; undefined if none. */
    progress: (id: number): WorkOrderProgress | undefined => progress.get(id),
  };
}

/** A new work order (the schema's insert type: nullable columns may be left out). */
export type NewWorkOrder = typeof workOrders.$inferInsert;

/** The work-order writes, reachable only as `tx.workOrders` (command.ts). */
export function workOrderWrites(sqlite: Database, reads: WorkOrderReads) {
  const insert = insertStatement<WorkOrderRow>(sqlite, 'work_orders', WORK_ORDER_COLUMNS);
  const setStatus = sqlite.prepare<[string, number, number]>('UPDATE work_orders SET status = ?, updated_at = ? WHERE id = ?');
  return {
    ...reads,
    insert: (w: NewWorkOrder): void => void insert(w),
    setStatus: (id: number, status: WorkOrderStatus, updatedAt: number): void => void setStatus.run(status, updatedAt, id),
  };
}

export type WorkOrderReads = ReturnType<typeof workOrderReads>;
export type WorkOrderWrites = ReturnType<typeof workOrderWrites>;
