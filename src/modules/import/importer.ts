import type { AppContext } from '../../context.ts';
import { importAssignments, importIssues } from './import-issues.ts';
import { importMachines, importReadings } from './import-machines.ts';
import { importStages, importWorkOrders } from './import-orders.ts';
import { importUsers } from './import-users.ts';
import { openLegacy } from './legacy-db.ts';
import { emptyReport, type ImportReport } from './report.ts';

class DryRunRollback extends Error {}

/**
 * `gateway import-legacy`: brings the FastAPI backend's SQLite file into this gateway in one
 * transaction (all or nothing). Rows get ids from this site's range and keep the old id in
 * `legacy_id`, so a second run finds them and imports nothing twice. Events are written for
 * what was imported, so the history syncs to HQ like any other.
 */
export function importLegacy(ctx: Pick<AppContext, 'store' | 'clock' | 'config'>, file: string, opts: { dryRun?: boolean } = {}): ImportReport {
  const legacy = openLegacy(file);
  const report = emptyReport(file, ctx.config.siteId, ctx.config.plantTz, opts.dryRun ?? false);
  report.notes.push(...legacy.notes);
  try {
    ctx.store.commandNow((tx) => {
      const ictx = { store: ctx.store, clock: ctx.clock, plantTz: ctx.config.plantTz, tx };
      const userIds = importUsers(ictx, legacy, report);
      const machineIds = importMachines(ictx, legacy, report);
      const workOrderIds = importWorkOrders(ictx, legacy, report);
      const stageIds = importStages(ictx, legacy, report, workOrderIds);
      importAssignments(ictx, legacy, report, stageIds, userIds);
      importIssues(ictx, legacy, report, stageIds, userIds);
      importReadings(ictx, legacy, report, machineIds);
      if (opts.dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  } finally {
    legacy.close();
  }
  return report;
}
