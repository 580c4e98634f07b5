import { iso } from '../../core/iso.ts';
import type { Database } from 'better-sqlite3';
import type { StageStatus } from '../../core/vocabulary.ts';
import type { workOrderStages } from '../schema.ts';
import type { AssignmentReads } from './assignments.ts';
import { type ColumnList, filteredListStatements, insertStatement, selectList } from './columns.ts';

/** A row of work_order_stages under drizzle's property names. */
export type StageRow = typeof workOrderStages.$inferSelect;

/** work_order_stages, in table order. */
export const STAGE_COLUMNS = {
  id: 'id',
  workOrderId: 'work_order_id',
  seq: 'seq',
  stageName: 'stage_name',
  plannedStart: 'planned_start',
  plannedEnd: 'planned_end',
  actualStart: 'actual_start',
  actualEnd: 'actual_end',
  status: 'status',
  qtyGood: 'qty_good',
  qtyScrap: 'qty_scrap',
  pausedMs: 'paused_ms',
  pausedSince: 'paused_since',
  statusChangedAt: 'status_changed_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  legacyId: 'legacy_id',
} as const satisfies ColumnList<StageRow>;

const ROW = selectList(STAGE_COLUMNS);

/** A stage as the API shows it (the Stage schema of stages/schemas.ts). */
export function stageView(r: StageRow, assignedUserIds: number[], machineId: number | null) {
  return {
    id: r.id,
    work_order_id: r.workOrderId,
    seq: r.seq,
    stage_name: r.stageName,
    planned_start: iso(r.plannedStart),
    planned_end: iso(r.plannedEnd),
    actual_start: iso(r.actualStart),
    actual_end: iso(r.actualEnd),
    status: r.status,
    qty_good: r.qtyGood,
    qty_scrap: r.qtyScrap,
    assigned_user_ids: assignedUserIds,
    /** The machine the stage runs on (stage_machines, docs/oee.md), or null. */
    machine_id: machineId,
  };
}

export type StageViewOfRow = ReturnType<typeof stageView>;

/**
 * Positional rows for GET /workorders/{id}/stages, the hottest stage read: better-sqlite3's raw
 * mode returns arrays, turned into views by one object literal each. Native row objects and
 * drizzle's mapping cost more (a page of 50: ~350 µs with object rows, ~150 µs raw;
 * docs/benchmarks.md). The tuple's order is VIEW_TUPLE's, read by `viewOfTuple` only.
 */
const VIEW_TUPLE = [
  'id',
  'work_order_id',
  'seq',
  'stage_name',
  'planned_start',
  'planned_end',
  'actual_start',
  'actual_end',
  'status',
  'qty_good',
  'qty_scrap',
  '(SELECT machine_id FROM stage_machines m WHERE m.stage_id = work_order_stages.id)',
] as const;
type ViewTuple = [
  number,
  number,
  number,
  string,
  number | null,
  number | null,
  number | null,
  number | null,
  StageStatus,
  number | null,
  number | null,
  number | null,
];

const viewOfTuple = (r: ViewTuple, assigned: Map<number, number[]>): StageViewOfRow => ({
  id: r[0],
  work_order_id: r[1],
  seq: r[2],
  stage_name: r[3],
  planned_start: iso(r[4]),
  planned_end: iso(r[5]),
  actual_start: iso(r[6]),
  actual_end: iso(r[7]),
  status: r[8],
  qty_good: r[9],
  qty_scrap: r[10],
  assigned_user_ids: assigned.get(r[0]) ?? [],
  machine_id: r[11],
});

/** GET /stages filters; `assignedTo` and `visibleTo` each keep only stages assigned to that user. */
export interface StageListFilter {
  status?: StageStatus | undefined;
  workOrderId?: number | undefined;
  assignedTo?: number | undefined;
  visibleTo?: number | undefined;
}

const ASSIGNED = 'id IN (SELECT stage_id FROM stage_assignments WHERE user_id = ?)';
const LIST_FILTERS = [
  ['status', 'status = ?'],
  ['workOrderId', 'work_order_id = ?'],
  ['assignedTo', ASSIGNED],
  ['visibleTo', ASSIGNED],
] as const;
/** The list's order: planned start (none first), then id; the cursor carries both. */
const PLANNED_KEY = 'coalesce(planned_start, 0)';
const AFTER_CURSOR = `(${PLANNED_KEY} > ? OR (${PLANNED_KEY} = ? AND id > ?))`;

/** The stage reads. */
export function stageReads(sqlite: Database, assignments: AssignmentReads) {
  const byId = sqlite.prepare<[number], StageRow>(`SELECT ${ROW} FROM work_order_stages WHERE id = ?`);
  const ofWorkOrder = sqlite.prepare<[number], StageRow>(`SELECT ${ROW} FROM work_order_stages WHERE work_order_id = ? ORDER BY seq`);
  const ofWorkOrderAssignedTo = sqlite.prepare<[number, number], StageRow>(
    `SELECT ${ROW} FROM work_order_stages WHERE work_order_id = ? AND ${ASSIGNED} ORDER BY seq`,
  );
  const viewTuplesOfWorkOrder = sqlite
    .prepare<[number], ViewTuple>(`SELECT ${VIEW_TUPLE.join(', ')} FROM work_order_stages WHERE work_order_id = ? ORDER BY seq`)
    .raw(true);
  const machinesOfStages = sqlite
    .prepare<[string], [number, number]>('SELECT stage_id, machine_id FROM stage_machines WHERE stage_id IN (SELECT value FROM json_each(?))')
    .raw(true);
  const workOrderOf = sqlite.prepare<[number], number>('SELECT work_order_id FROM work_order_stages WHERE id = ?').pluck();
  const listStatement = filteredListStatements<StageRow>(sqlite, {
    selectFrom: `${ROW} FROM work_order_stages`,
    conditions: LIST_FILTERS.map(([, sql]) => sql),
    afterCursor: AFTER_CURSOR,
    orderBy: `${PLANNED_KEY}, id`,
  });
  const views = (rows: StageRow[]): StageViewOfRow[] => {
    const ids = rows.map((r) => r.id);
    const assigned = assignments.usersOfStages(ids);
    const machineOf = new Map(ids.length === 0 ? [] : machinesOfStages.all(JSON.stringify(ids)));
    return rows.map((r) => stageView(r, assigned.get(r.id) ?? [], machineOf.get(r.id) ?? null));
  };
  return {
    byId: (id: number): StageRow | undefined => byId.get(id),
    /** The work order a stage belongs to, or undefined. */
    workOrderOf: (id: number): number | undefined => workOrderOf.get(id),
    /** A work order's stages by seq; with `userId`, only those assigned to that user. */
    ofWorkOrder: (workOrderId: number, userId?: number): StageRow[] =>
      userId === undefined ? ofWorkOrder.all(workOrderId) : ofWorkOrderAssignedTo.all(workOrderId, userId),
    /** A work order's stages as views, by seq (the positional hot path above). */
    viewsOfWorkOrder(workOrderId: number): StageViewOfRow[] {
      const rows = viewTuplesOfWorkOrder.all(workOrderId);
      const assigned = assignments.usersOfStages(rows.map((r) => r[0]));
      return rows.map((r) => viewOfTuple(r, assigned));
    },
    /** Up to `limit` stages matching `f` after the cursor's (planned start, id), in the list's order. */
    page(f: StageListFilter, after: number[] | undefined, limit: number): StageRow[] {
      const values = LIST_FILTERS.map(([name]) => f[name]);
      const present = values.map((v) => v !== undefined);
      const params: unknown[] = values.filter((v) => v !== undefined);
      if (after) params.push(after[0], after[0], after[1]);
      return listStatement(present, after !== undefined).all(...params, limit);
    },
    /** The list's cursor key of a row. */
    keyOf: (r: StageRow): number[] => [r.plannedStart ?? 0, r.id],
    /** Rows as the API shows them, with their assignees (one query for all). */
    views,
  };
}

/** A new stage (the schema's insert type: nullable columns and those with a default may be left out). */
export type NewStage = typeof workOrderStages.$inferInsert;

/** What a transition changes. */
export type StageChange = Pick<
  StageRow,
  'status' | 'actualStart' | 'actualEnd' | 'pausedMs' | 'pausedSince' | 'qtyGood' | 'qtyScrap' | 'statusChangedAt' | 'updatedAt'
>;

/** The stage writes, reachable only as `tx.stages` (command.ts). */
export function stageWrites(sqlite: Database, reads: StageReads) {
  // paused_ms is NOT NULL DEFAULT 0 in the schema: a new stage has not been paused.
  const insert = insertStatement<StageRow>(sqlite, 'work_order_stages', STAGE_COLUMNS, { defaults: { pausedMs: 0 } });
  const update = sqlite.prepare<
    [string, number | null, number | null, number, number | null, number | null, number | null, number | null, number, number],
    StageRow
  >(
    'UPDATE work_order_stages SET status = ?, actual_start = ?, actual_end = ?, paused_ms = ?, paused_since = ?, qty_good = ?, qty_scrap = ?, ' +
      `status_changed_at = ?, updated_at = ? WHERE id = ? RETURNING ${ROW}`,
  );
  return {
    ...reads,
    insert: (s: NewStage): void => void insert(s),
    /** The stage after the change, or undefined when it does not exist. */
    update: (id: number, c: StageChange): StageRow | undefined =>
      update.get(c.status, c.actualStart, c.actualEnd, c.pausedMs, c.pausedSince, c.qtyGood, c.qtyScrap, c.statusChangedAt, c.updatedAt, id),
  };
}

export type StageReads = ReturnType<typeof stageReads>;
export type StageWrites = ReturnType<typeof stageWrites>;
