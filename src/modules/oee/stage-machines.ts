import type { Actor, AppContext } from '../../context.ts';
import type { Tx } from '../../db/command.ts';
import { notFound, validation } from '../../errors.ts';

/** The link of a stage to the machine it runs on, as `GET/PUT /stages/{id}/machine` show it. */
export interface StageMachineView {
  stage_id: number;
  machine_id: number | null;
}

/**
 * Names (or with null clears) the machine of an existing stage: the one write of `stage_machines`,
 * used by `PUT /stages/{id}/machine` and by `POST /workorders` for the stages it creates. An unknown
 * machine is a 422 on `path`. Clearing deletes the row, so the link syncs as a tombstone (docs/oee.md).
 */
export function linkStageMachine(ctx: AppContext, stageId: number, machineId: number | null, setBy: number | null, path = 'machine_id'): void {
  const sqlite = ctx.store.sqlite;
  if (machineId === null) {
    sqlite.prepare('DELETE FROM stage_machines WHERE stage_id = ?').run(stageId);
    return;
  }
  if (!sqlite.prepare('SELECT 1 FROM machines WHERE id = ?').get(machineId)) throw validation(path, 'no such machine');
  sqlite
    .prepare(
      `INSERT INTO stage_machines (stage_id, machine_id, set_at, set_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (stage_id) DO UPDATE SET machine_id = excluded.machine_id, set_at = excluded.set_at, set_by = excluded.set_by
       WHERE stage_machines.machine_id IS NOT excluded.machine_id`,
    )
    .run(stageId, machineId, ctx.clock.now(), setBy);
}

/** PUT /stages/{id}/machine: names (or clears) the machine a stage runs on. */
export function setStageMachine(ctx: AppContext, _tx: Tx, actor: Actor, stageId: number, machineId: number | null): StageMachineView {
  if (!ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(stageId)) throw notFound('stage');
  linkStageMachine(ctx, stageId, machineId, actor.userId);
  return { stage_id: stageId, machine_id: machineId };
}

/** GET /stages/{id}/machine. */
export function getStageMachine(ctx: AppContext, stageId: number): StageMachineView {
  return ctx.store.read(() => {
    if (!ctx.store.sqlite.prepare('SELECT 1 FROM work_order_stages WHERE id = ?').get(stageId)) throw notFound('stage');
    const machineId = ctx.store.sqlite.prepare('SELECT machine_id FROM stage_machines WHERE stage_id = ?').pluck().get(stageId) as number | undefined;
    return { stage_id: stageId, machine_id: machineId ?? null };
  });
}
