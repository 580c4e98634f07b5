import type { Database } from 'better-sqlite3';
import { assignmentReads, assignmentWrites } from './assignments.ts';
import { issueReads, issueWrites } from './issues.ts';
import { machineReads, machineWrites } from './machines.ts';
import { stageReads, stageWrites } from './stages.ts';
import { userReads, userWrites } from './users.ts';
import { workOrderReads, workOrderWrites } from './work-orders.ts';

/**
 * One data-access module per entity (docs/architecture.md, "Data access"): each owns its SQL,
 * prepared once here when the store opens, its column list and its row → view mapper. Reads are
 * `store.data.<entity>`; the same reads plus the writes are `tx.<entity>`, given to commands only,
 * so a write outside a command does not compile (test/types/data-writes.ts).
 */
export function createDataAccess(sqlite: Database) {
  const assignments = assignmentReads(sqlite);
  const stages = stageReads(sqlite, assignments);
  const workOrders = workOrderReads(sqlite);
  const issues = issueReads(sqlite);
  const users = userReads(sqlite);
  const machines = machineReads(sqlite);
  return {
    reads: { assignments, stages, workOrders, issues, users, machines },
    writes: {
      assignments: assignmentWrites(sqlite, assignments),
      stages: stageWrites(sqlite, stages),
      workOrders: workOrderWrites(sqlite, workOrders),
      issues: issueWrites(sqlite, issues),
      users: userWrites(sqlite, users),
      machines: machineWrites(sqlite, machines),
    },
  };
}

/** Every entity's reads: `store.data`. */
export type DataReads = ReturnType<typeof createDataAccess>['reads'];
/** Every entity's reads and writes: what a command's `tx` carries besides emit and afterCommit. */
export type DataWrites = ReturnType<typeof createDataAccess>['writes'];
