import type { Statement } from 'better-sqlite3';
import type { AppContext } from '../../context.ts';
import { keysetPageOf, type Page } from '../../db/keyset.ts';
import { notFound } from '../../errors.ts';
import { iso } from '../../core/iso.ts';
import { type JsonPage, type JsonText, RowJsonCache } from '../../http/json-rows.ts';
import type { WorkOrderView } from './schemas.ts';
import type { WorkOrderFilter } from './service.ts';

// Speed-up "positional statements" (issue 7): the work-order reads behind GET /workorders and GET
// /workorders/{id} are plain prepared statements returning arrays (better-sqlite3's raw mode, read by
// position) that become views in one object literal each, instead of drizzle building the query and
// mapping every row twice on each request. Building row objects in native code cost more than the
// query itself: a page of 50 went from ~350 µs (object rows) to ~150 µs (raw rows and the mapping)
// in a micro test (docs/benchmarks.md, "Issue 7"). The arrays also key the row JSON cache.

const VIEW_COLUMNS = 'id, product_code, lot_no, qty, planned_start, planned_end, status, created_at, updated_at';
type ViewTuple = [number, string, string, number, number, number, WorkOrderView['status'], number, number];

const toView = (r: ViewTuple): WorkOrderView => ({
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

const prepareRaw = <P extends unknown[]>(ctx: Pick<AppContext, 'store'>, sql: string) => ctx.store.sqlite.prepare<P, ViewTuple>(sql).raw(true);

/** The row JSON cache of work orders (json-rows.ts), one per store, kept beside its prepared statements. */
const jsonCache = (ctx: Pick<AppContext, 'store'>) => ctx.store.prepared('workOrderJson', () => new RowJsonCache<ViewTuple, WorkOrderView>(toView));

function workOrderRow(ctx: Pick<AppContext, 'store'>, id: number): ViewTuple {
  const byId = ctx.store.prepared('workOrderViewById', () => prepareRaw<[number]>(ctx, `SELECT ${VIEW_COLUMNS} FROM work_orders WHERE id = ?`));
  const row = byId.get(id);
  if (!row) throw notFound('work order');
  return row;
}

/** One work order, or NOT_FOUND. */
export function workOrderView(ctx: Pick<AppContext, 'store'>, id: number): WorkOrderView {
  return toView(workOrderRow(ctx, id));
}

/** One work order as JSON (GET /workorders/{id}), or NOT_FOUND. */
export function workOrderJson(ctx: Pick<AppContext, 'store'>, id: number): JsonText<WorkOrderView> {
  return jsonCache(ctx).one(workOrderRow(ctx, id));
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

/** One statement per combination of filters (at most 64), prepared on first use. */
function listStatement(ctx: Pick<AppContext, 'store'>, present: boolean[], withCursor: boolean): Statement<unknown[], ViewTuple> {
  const key = `workOrderList:${present.map((p) => (p ? 1 : 0)).join('')}${withCursor ? 1 : 0}`;
  return ctx.store.prepared(key, () => {
    const conditions: string[] = FILTERS.filter((_, i) => present[i]).map(([, sql]) => sql);
    if (withCursor) conditions.push(AFTER_CURSOR);
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    return prepareRaw<unknown[]>(ctx, `SELECT ${VIEW_COLUMNS} FROM work_orders${where} ORDER BY planned_start, id LIMIT ?`);
  });
}

/** GET /workorders: ordered by planned_start, then id; planned_from/planned_to bound planned_start. */
export function listWorkOrderViews(ctx: Pick<AppContext, 'store'>, f: WorkOrderFilter): Page<WorkOrderView> {
  const { items, nextCursor } = listWorkOrderRows(ctx, f);
  return { items: items.map(toView), nextCursor };
}

/** listWorkOrderViews as one JSON array, the answer of GET /workorders. */
export function listWorkOrderJson(ctx: Pick<AppContext, 'store'>, f: WorkOrderFilter): JsonPage<WorkOrderView> {
  const { items, nextCursor } = listWorkOrderRows(ctx, f);
  return { items: jsonCache(ctx).array(items), nextCursor };
}

function listWorkOrderRows(ctx: Pick<AppContext, 'store'>, f: WorkOrderFilter): Page<ViewTuple> {
  // Empty strings filter nothing, as before (a falsy status, product or lot was left out).
  const values = [f.status || undefined, f.product_code || undefined, f.lot_no || undefined, f.planned_from, f.planned_to];
  const present = values.map((v) => v !== undefined);
  const params = values.filter((v) => v !== undefined);
  return ctx.store.read(() =>
    keysetPageOf<ViewTuple>(f, {
      width: 2,
      keyOf: (r) => [r[4], r[0]],
      fetch: (after, limit) => {
        const statement = listStatement(ctx, present, after !== undefined);
        return after ? statement.all(...params, after[0], after[0], after[1], limit) : statement.all(...params, limit);
      },
    }),
  );
}
