import type { Config } from '../../config.ts';
import { systemClock } from '../../clock.ts';
import { openStore } from '../../db/store.ts';
import { importLegacy } from './importer.ts';
import { ImportError } from './legacy-db.ts';
import { formatReport } from './report.ts';

/** `gateway import-legacy <file> [--dry-run]`: prints the report; a refusal is one line and exit status 1. */
export function importLegacyCommand(
  cfg: Config,
  file: string,
  opts: { dryRun?: boolean } = {},
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): void {
  const store = openStore(cfg.databasePath, cfg.siteId);
  try {
    const report = importLegacy({ store, clock: systemClock, config: cfg }, file, { dryRun: opts.dryRun ?? false });
    for (const line of formatReport(report)) out(line);
  } catch (err) {
    if (!(err instanceof ImportError)) throw err;
    process.stderr.write(`import-legacy: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    store.close();
  }
}
