import type { Database, Statement } from 'better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { issues, workOrderStages } from './schema.ts';

export type StageRow = typeof workOrderStages.$inferSelect;
export type IssueRow = typeof issues.$inferSelect;

/** How far a work order's stages have got, for its derived status. */
export interface WorkOrderProgress {
  status: string;
  stages: number;
  started: number;
  done: number;
}

/**
 * Speed-up "hand-written write statements" (issue 15, ADR 0012): the statements of the floor's
 * common writes (stage transitions, issues, work orders), prepared once when the store opens, with
 * positional parameters. Written by hand: drizzle's prepared queries still fill placeholders and
 * map every row on each call, 5.4% of a write's profile, which the write path paid per command; with
 * them the in-process command path took 15–24% less CPU per transition (docs/benchmarks.md, "Write path").
 * Rows come back with drizzle's property names, so they are the same `$inferSelect` types.
 */
export interface WriteStatements {
  stageById: Statement<[number], StageRow>;
  /** status, actual_start, actual_end, paused_ms, paused_since, qty_good, qty_scrap, status_changed_at, updated_at, id. */
  updateStage: Statement<[string, number | null, number | null, number, number | null, number | null, number | null, number | null, number, number], StageRow>;
  /** 1 when the user is assigned to the stage (stage_id, user_id). */
  isAssigned: Statement<[number, number], number>;
  workOrderProgress: Statement<[number], WorkOrderProgress>;
  /** status, updated_at, id. */
  setWorkOrderStatus: Statement<[string, number, number]>;
  /** id, product_code, lot_no, qty, planned_start, planned_end, created_by, created_at, updated_at; status planned. */
  insertWorkOrder: Statement<[number, string, string, number, number, number, number, number, number]>;
  /** id, work_order_id, seq, stage_name, planned_start, planned_end, created_at, updated_at; status planned. */
  insertStage: Statement<[number, number, number, string, number | null, number | null, number, number]>;
  /** id, work_order_stage_id, type, description, created_by, created_at, updated_at; status open. */
  insertIssue: Statement<[number, number, string, string, number, number, number]>;
  /** issue id, stage id: the issue only if it belongs to that stage. */
  issueOfStage: Statement<[number, number], IssueRow>;
  /** status, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, id. */
  updateIssue: Statement<[string, number, number | null, number | null, number | null, number | null, number], IssueRow>;
  /** 1 when the machine exists. */
  machineExists: Statement<[number], number>;
  /** An issue's history from its event rows, oldest first. */
  issueHistory: Statement<[number], { status: string; at: number; by: number | null; data: string | null }>;
}

/** `"work_order_id" AS "workOrderId", …`: every column of the table under its drizzle name. */
function selectList(table: SQLiteTable): string {
  return Object.entries(getTableColumns(table))
    .map(([key, col]) => `"${col.name}" AS "${key}"`)
    .join(', ');
}

export function createWriteStatements(sqlite: Database): WriteStatements {
  const stageCols = selectList(workOrderStages);
  const issueCols = selectList(issues);
  return {
    stageById: sqlite.prepare(`SELECT ${stageCols} FROM work_order_stages WHERE id = ?`),
    updateStage: sqlite.prepare(
      'UPDATE work_order_stages SET status = ?, actual_start = ?, actual_end = ?, paused_ms = ?, paused_since = ?, qty_good = ?, qty_scrap = ?, ' +
        `status_changed_at = ?, updated_at = ? WHERE id = ? RETURNING ${stageCols}`,
    ),
    isAssigned: sqlite.prepare<[number, number], number>('SELECT 1 FROM stage_assignments WHERE stage_id = ? AND user_id = ?').pluck(),
    workOrderProgress: sqlite.prepare(
      "SELECT w.status AS status, count(s.id) AS stages, coalesce(sum(s.status <> 'planned'), 0) AS started, coalesce(sum(s.status = 'done'), 0) AS done " +
        'FROM work_orders w LEFT JOIN work_order_stages s ON s.work_order_id = w.id WHERE w.id = ? GROUP BY w.id',
    ),
    setWorkOrderStatus: sqlite.prepare('UPDATE work_orders SET status = ?, updated_at = ? WHERE id = ?'),
    insertWorkOrder: sqlite.prepare(
      'INSERT INTO work_orders (id, product_code, lot_no, qty, planned_start, planned_end, status, created_by, created_at, updated_at) ' +
        "VALUES (?, ?, ?, ?, ?, ?, 'planned', ?, ?, ?)",
    ),
    insertStage: sqlite.prepare(
      'INSERT INTO work_order_stages (id, work_order_id, seq, stage_name, planned_start, planned_end, status, created_at, updated_at) ' +
        "VALUES (?, ?, ?, ?, ?, ?, 'planned', ?, ?)",
    ),
    insertIssue: sqlite.prepare(
      'INSERT INTO issues (id, work_order_stage_id, type, description, status, created_by, created_at, updated_at) ' + "VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
    ),
    issueOfStage: sqlite.prepare(`SELECT ${issueCols} FROM issues WHERE id = ? AND work_order_stage_id = ?`),
    updateIssue: sqlite.prepare(
      'UPDATE issues SET status = ?, updated_at = ?, acknowledged_at = ?, acknowledged_by = ?, resolved_at = ?, resolved_by = ? ' +
        `WHERE id = ? RETURNING ${issueCols}`,
    ),
    machineExists: sqlite.prepare<[number], number>('SELECT 1 FROM machines WHERE id = ?').pluck(),
    issueHistory: sqlite.prepare(
      "SELECT to_status AS status, occurred_at AS at, actor_user_id AS by, data FROM events WHERE entity_type = 'issue' AND entity_id = ? ORDER BY id",
    ),
  };
}
