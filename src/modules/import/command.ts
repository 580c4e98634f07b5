import { parseArgs } from 'node:util';
import type { Config } from '../../config.ts';
import { systemClock } from '../../clock.ts';
import { openStore } from '../../db/store.ts';
import { importLegacy } from './importer.ts';
import { ImportError } from './legacy-db.ts';
import { formatReport } from './report.ts';

const USAGE = 'usage: gateway import-legacy <path/to/database.db> [--dry-run]';

/** `gateway import-legacy <file> [--dry-run]`: prints the report; a refusal is one line and exit status 1. */
export function importLegacyCommand(cfg: Config, args: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  let parsed: ReturnType<typeof parseArgs<{ options: { 'dry-run': { type: 'boolean' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: { 'dry-run': { type: 'boolean' } }, allowPositionals: true });
  } catch {
    parsed = { values: {}, positionals: [] };
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 1;
    return;
  }
  const store = openStore(cfg.databasePath, cfg.siteId);
  try {
    const report = importLegacy({ store, clock: systemClock, config: cfg }, file, { dryRun: parsed.values['dry-run'] ?? false });
    for (const line of formatReport(report)) out(line);
  } catch (err) {
    if (!(err instanceof ImportError)) throw err;
    process.stderr.write(`import-legacy: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    store.close();
  }
}
