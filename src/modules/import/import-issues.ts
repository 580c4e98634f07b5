import { byLegacyId, type ImportCtx } from './import-users.ts';
import type { LegacyDb } from './legacy-db.ts';
import { type ImportReport, skip } from './report.ts';
import { int, issueStatus, issueType, text, time } from './values.ts';

/** Assignments are keyed by (stage, user), so a second run finds them and inserts nothing. */
export function importAssignments(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport, stageIds: Map<number, number>, userIds: Map<number, number>): void {
  if (!legacy.has('stage_assignments')) return;
  for (const row of legacy.rows('stage_assignments')) {
    const legacyId = int(row.id) ?? String(row.id);
    const stageId = stageIds.get(int(row.work_order_stage_id) ?? Number.NaN);
    const userId = userIds.get(int(row.user_id) ?? Number.NaN);
    if (stageId === undefined) {
      skip(report, 'stage_assignments', legacyId, `stage ${String(row.work_order_stage_id)} was not imported`);
      continue;
    }
    if (userId === undefined) {
      skip(report, 'stage_assignments', legacyId, `user ${String(row.user_id)} was not imported`);
      continue;
    }
    const now = ctx.clock.now();
    if (!ctx.tx.assignments.insertUnlessThere({ stageId, userId, assignedBy: null, assignedAt: now })) {
      report.counts.stage_assignments.already++;
      continue;
    }
    const wo = ctx.tx.stages.workOrderOf(stageId) ?? null;
    ctx.tx.emit({
      kind: 'stage.assigned',
      entityType: 'stage',
      entityId: stageId,
      workOrderId: wo,
      data: { user_id: userId, imported_from: 'fastapi', legacy_id: legacyId },
    });
    report.counts.stage_assignments.imported++;
  }
}

/**
 * Issues keep their reporter and creation time. The old database has no acknowledge/resolve
 * times, so those stay empty and the history entry says so; its event is dated at the import.
 */
export function importIssues(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport, stageIds: Map<number, number>, userIds: Map<number, number>): void {
  const withStatus = legacy.has('issues.status');
  for (const row of legacy.rows('issues')) {
    const legacyId = int(row.id);
    if (legacyId === undefined) {
      skip(report, 'issues', String(row.id), 'id is not an integer');
      continue;
    }
    const done = byLegacyId(ctx, 'issues', legacyId);
    if (done !== undefined) {
      report.counts.issues.already++;
      report.mapping.issues.push({ legacyId, id: done, how: 'already' });
      continue;
    }
    const stageId = stageIds.get(int(row.work_order_stage_id) ?? Number.NaN);
    const createdBy = userIds.get(int(row.created_by) ?? Number.NaN);
    const createdAt = time(row.created_at, ctx.plantTz, 'created_at', true);
    const status = withStatus ? issueStatus(row.status ?? null) : issueStatus(null);
    const problem =
      stageId === undefined
        ? `stage ${String(row.work_order_stage_id)} was not imported`
        : createdBy === undefined
          ? `reporter (user ${String(row.created_by)}) was not imported`
          : !createdAt.ok
            ? createdAt.reason
            : !status.ok
              ? status.reason
              : undefined;
    if (problem || stageId === undefined || createdBy === undefined || !createdAt.ok || createdAt.value === null || !status.ok) {
      skip(report, 'issues', legacyId, problem ?? 'invalid');
      continue;
    }
    const mapped = issueType(row.type, text(row.description) ?? '');
    if (mapped.changed)
      report.notes.push(`issue ${legacyId}: type '${text(row.type) ?? ''}' is not known here; imported as 'other', the original type kept in the description`);
    const now = ctx.clock.now();
    const id = ctx.store.ids.next('issues');
    ctx.tx.issues.insert({
      id,
      workOrderStageId: stageId,
      type: mapped.type,
      description: mapped.description,
      status: status.value,
      createdBy,
      createdAt: createdAt.value,
      updatedAt: now,
      legacyId,
    });
    const wo = ctx.tx.stages.workOrderOf(stageId) ?? null;
    const base = { entityType: 'issue' as const, entityId: id, workOrderId: wo };
    ctx.tx.emit({
      ...base,
      kind: 'issue.opened',
      toStatus: 'open',
      occurredAt: createdAt.value,
      actorUserId: createdBy,
      data: { stage_id: stageId, type: mapped.type, description: mapped.description, imported_from: 'fastapi', legacy_id: legacyId },
    });
    const note = 'imported from the FastAPI backend; the time of this change is not known';
    if (status.value === 'ack') ctx.tx.emit({ ...base, kind: 'issue.acknowledged', fromStatus: 'open', toStatus: 'ack', data: { stage_id: stageId, note } });
    if (status.value === 'resolved')
      ctx.tx.emit({ ...base, kind: 'issue.resolved', fromStatus: 'open', toStatus: 'resolved', data: { stage_id: stageId, note } });
    report.counts.issues.imported++;
    report.mapping.issues.push({ legacyId, id, how: 'imported' });
  }
}
