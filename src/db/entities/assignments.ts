import { iso } from '../../core/iso.ts';
import type { Database } from 'better-sqlite3';
import type { stageAssignments } from '../schema.ts';
import { type ColumnList, insertStatement } from './columns.ts';

/** A row of stage_assignments under drizzle's property names. */
export type AssignmentRow = typeof stageAssignments.$inferSelect;

/** stage_assignments: who works on which stage. */
export const ASSIGNMENT_COLUMNS = {
  stageId: 'stage_id',
  userId: 'user_id',
  assignedBy: 'assigned_by',
  assignedAt: 'assigned_at',
} as const satisfies ColumnList<AssignmentRow>;

/** The assignment reads: access checks, the assignees of stages, a stage's list. */
export function assignmentReads(sqlite: Database) {
  const isAssigned = sqlite.prepare<[number, number], number>('SELECT 1 FROM stage_assignments WHERE stage_id = ? AND user_id = ?').pluck();
  // Any number of stages in one statement: the ids travel as one JSON array.
  const ofStages = sqlite.prepare<[string], { stage_id: number; user_id: number }>(
    'SELECT stage_id, user_id FROM stage_assignments WHERE stage_id IN (SELECT value FROM json_each(?)) ORDER BY user_id',
  );
  const ofStage = sqlite.prepare<[number], { stage_id: number; user_id: number; username: string; assigned_at: number; assigned_by: number | null }>(
    'SELECT a.stage_id, a.user_id, u.username, a.assigned_at, a.assigned_by FROM stage_assignments a JOIN users u ON u.id = a.user_id ' +
      'WHERE a.stage_id = ? ORDER BY a.user_id',
  );
  return {
    /** True when the user is assigned to the stage. */
    isAssigned: (stageId: number, userId: number): boolean => isAssigned.get(stageId, userId) !== undefined,
    /** Assigned user ids by stage id, each list by user id; stages without any are absent. */
    usersOfStages(stageIds: number[]): Map<number, number[]> {
      const map = new Map<number, number[]>();
      if (stageIds.length === 0) return map;
      for (const r of ofStages.all(JSON.stringify(stageIds))) {
        const list = map.get(r.stage_id);
        if (list) list.push(r.user_id);
        else map.set(r.stage_id, [r.user_id]);
      }
      return map;
    },
    /** A stage's assignments as the API shows them (GET /stages/{id}/assignments). */
    viewsOfStage: (stageId: number) => ofStage.all(stageId).map((a) => ({ ...a, assigned_at: iso(a.assigned_at) })),
  };
}

/** A new assignment (the schema's insert type: nullable columns may be left out). */
export type NewAssignment = typeof stageAssignments.$inferInsert;

/** The assignment writes, reachable only as `tx.assignments` (command.ts). */
export function assignmentWrites(sqlite: Database, reads: AssignmentReads) {
  const insert = insertStatement<AssignmentRow>(sqlite, 'stage_assignments', ASSIGNMENT_COLUMNS);
  const insertUnlessThere = insertStatement<AssignmentRow>(sqlite, 'stage_assignments', ASSIGNMENT_COLUMNS, { orIgnore: true });
  const remove = sqlite.prepare<[number, number]>('DELETE FROM stage_assignments WHERE stage_id = ? AND user_id = ?');
  return {
    ...reads,
    insert: (a: NewAssignment): void => void insert(a),
    /** The same, doing nothing when the user is already assigned (the legacy import); false then. */
    insertUnlessThere: (a: NewAssignment): boolean => insertUnlessThere(a).changes > 0,
    /** False when there was no such assignment. */
    remove: (stageId: number, userId: number): boolean => remove.run(stageId, userId).changes > 0,
  };
}

export type AssignmentReads = ReturnType<typeof assignmentReads>;
export type AssignmentWrites = ReturnType<typeof assignmentWrites>;
