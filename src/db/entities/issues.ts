import { iso } from '../../core/iso.ts';
import type { Database } from 'better-sqlite3';
import type { IssueStatus } from '../../core/vocabulary.ts';
import type { issues } from '../schema.ts';
import { type ColumnList, filteredListStatements, insertStatement, selectList } from './columns.ts';

/** A row of issues under drizzle's property names. */
export type IssueRow = typeof issues.$inferSelect;

/** issues, in table order. */
export const ISSUE_COLUMNS = {
  id: 'id',
  workOrderStageId: 'work_order_stage_id',
  type: 'type',
  description: 'description',
  status: 'status',
  createdBy: 'created_by',
  createdAt: 'created_at',
  acknowledgedAt: 'acknowledged_at',
  acknowledgedBy: 'acknowledged_by',
  resolvedAt: 'resolved_at',
  resolvedBy: 'resolved_by',
  updatedAt: 'updated_at',
  legacyId: 'legacy_id',
} as const satisfies ColumnList<IssueRow>;

const ROW = selectList(ISSUE_COLUMNS);

/** One step of an issue's history, read from its event rows. */
export interface IssueHistoryEntry {
  status: IssueStatus;
  at: string;
  by: number | null;
  note: string | null;
}

const noteOf = (data: string | null): string | null => {
  const note = data === null ? undefined : (JSON.parse(data) as { note?: unknown } | null)?.note;
  return typeof note === 'string' ? note : null;
};

/** An issue as the API shows it (the Issue schema of issues/schemas.ts). */
export function issueView(r: IssueRow, history: IssueHistoryEntry[]) {
  return {
    id: r.id,
    work_order_stage_id: r.workOrderStageId,
    type: r.type,
    description: r.description,
    status: r.status,
    created_by: r.createdBy,
    created_at: iso(r.createdAt),
    acknowledged_at: iso(r.acknowledgedAt),
    acknowledged_by: r.acknowledgedBy,
    resolved_at: iso(r.resolvedAt),
    resolved_by: r.resolvedBy,
    history,
  };
}

/** GET /issues filters. */
export interface IssueListFilter {
  status?: IssueStatus | undefined;
  type?: IssueRow['type'] | undefined;
  workOrderStageId?: number | undefined;
  workOrderId?: number | undefined;
}

const LIST_FILTERS = [
  ['status', 'status = ?'],
  ['type', 'type = ?'],
  ['workOrderStageId', 'work_order_stage_id = ?'],
  ['workOrderId', 'work_order_stage_id IN (SELECT id FROM work_order_stages WHERE work_order_id = ?)'],
] as const;
/** Newest first: rows before the cursor's (created_at, id). */
const AFTER_CURSOR = '(created_at < ? OR (created_at = ? AND id < ?))';

/** The issue reads. */
export function issueReads(sqlite: Database) {
  const byId = sqlite.prepare<[number], IssueRow>(`SELECT ${ROW} FROM issues WHERE id = ?`);
  const ofStage = sqlite.prepare<[number, number], IssueRow>(`SELECT ${ROW} FROM issues WHERE id = ? AND work_order_stage_id = ?`);
  const openOfWorkOrder = sqlite
    .prepare<[number], number>(
      "SELECT count(*) FROM issues WHERE status IN ('open', 'ack') AND work_order_stage_id IN (SELECT id FROM work_order_stages WHERE work_order_id = ?)",
    )
    .pluck();
  type EventRow = { id: number; status: IssueStatus; at: number; by: number | null; data: string | null };
  const historyOf = sqlite.prepare<[number], EventRow>(
    "SELECT entity_id AS id, to_status AS status, occurred_at AS at, actor_user_id AS by, data FROM events WHERE entity_type = 'issue' AND entity_id = ? ORDER BY id",
  );
  const historiesOf = sqlite.prepare<[string], EventRow>(
    'SELECT entity_id AS id, to_status AS status, occurred_at AS at, actor_user_id AS by, data FROM events ' +
      "WHERE entity_type = 'issue' AND entity_id IN (SELECT value FROM json_each(?)) ORDER BY id",
  );
  const listStatement = filteredListStatements<IssueRow>(sqlite, {
    selectFrom: `${ROW} FROM issues`,
    conditions: LIST_FILTERS.map(([, sql]) => sql),
    afterCursor: AFTER_CURSOR,
    orderBy: 'created_at DESC, id DESC',
  });
  /** History is read from the immutable event rows, so it can never disagree with them. */
  const histories = (ids: number[]): Map<number, IssueHistoryEntry[]> => {
    const map = new Map<number, IssueHistoryEntry[]>();
    if (ids.length === 0) return map;
    const rows = ids.length === 1 ? historyOf.all(ids[0] as number) : historiesOf.all(JSON.stringify(ids));
    for (const e of rows) {
      const entry = { status: e.status, at: iso(e.at), by: e.by, note: noteOf(e.data) };
      const list = map.get(e.id);
      if (list) list.push(entry);
      else map.set(e.id, [entry]);
    }
    return map;
  };
  return {
    byId: (id: number): IssueRow | undefined => byId.get(id),
    /** The issue only if it belongs to that stage. */
    ofStage: (issueId: number, stageId: number): IssueRow | undefined => ofStage.get(issueId, stageId),
    /** How many issues of the work order's stages are open or acknowledged. */
    openOfWorkOrder: (workOrderId: number): number => openOfWorkOrder.get(workOrderId) ?? 0,
    /** Up to `limit` issues matching `f` after the cursor's (created_at, id), newest first. */
    page(f: IssueListFilter, after: number[] | undefined, limit: number): IssueRow[] {
      const values = LIST_FILTERS.map(([name]) => f[name]);
      const present = values.map((v) => v !== undefined);
      const params: unknown[] = values.filter((v) => v !== undefined);
      if (after) params.push(after[0], after[0], after[1]);
      return listStatement(present, after !== undefined).all(...params, limit);
    },
    /** The list's cursor key of a row. */
    keyOf: (r: IssueRow): number[] => [r.createdAt, r.id],
    /** Rows as the API shows them, with their histories (one query for all). */
    views(rows: IssueRow[]) {
      const hist = histories(rows.map((r) => r.id));
      return rows.map((r) => issueView(r, hist.get(r.id) ?? []));
    },
  };
}

/** A new issue (the schema's insert type: nullable columns may be left out). */
export type NewIssue = typeof issues.$inferInsert;

/** What acknowledging or resolving changes. */
export type IssueChange = Pick<IssueRow, 'status' | 'updatedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'resolvedAt' | 'resolvedBy'>;

/** The issue writes, reachable only as `tx.issues` (command.ts). */
export function issueWrites(sqlite: Database, reads: IssueReads) {
  const insert = insertStatement<IssueRow>(sqlite, 'issues', ISSUE_COLUMNS);
  const update = sqlite.prepare<[string, number, number | null, number | null, number | null, number | null, number], IssueRow>(
    'UPDATE issues SET status = ?, updated_at = ?, acknowledged_at = ?, acknowledged_by = ?, resolved_at = ?, resolved_by = ? ' +
      `WHERE id = ? RETURNING ${ROW}`,
  );
  return {
    ...reads,
    insert: (i: NewIssue): void => void insert(i),
    /** The issue after the change, or undefined when it does not exist. */
    update: (id: number, c: IssueChange): IssueRow | undefined =>
      update.get(c.status, c.updatedAt, c.acknowledgedAt, c.acknowledgedBy, c.resolvedAt, c.resolvedBy, id),
  };
}

export type IssueReads = ReturnType<typeof issueReads>;
export type IssueWrites = ReturnType<typeof issueWrites>;
