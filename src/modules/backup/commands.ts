import { existsSync } from 'node:fs';
import type { Config } from '../../config.ts';
import { backupDatabase, OpsError } from './backup.ts';
import { restoreDatabase } from './restore.ts';

type Out = (line: string) => void;

const stdout: Out = (line) => process.stdout.write(`${line}\n`);

/** Runs a command body; a refusal (OpsError) is one line on stderr and exit status 1. */
async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!(err instanceof OpsError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}

/** `gateway backup <file> [--force]`: an online copy of DATABASE_PATH, safe while the gateway runs. */
export function backupCommand(cfg: Config, file: string, opts: { force?: boolean } = {}, out: Out = stdout): Promise<void> {
  return run(async () => {
    // A nightly job given a fixed name, or a typo, must not silently replace an older copy.
    if (!opts.force && existsSync(file)) throw new OpsError(`${file} exists; pass --force to overwrite it`);
    const res = await backupDatabase(cfg.databasePath, file);
    out(`backup of ${cfg.databasePath} (site ${res.siteId}) written to ${res.file} (${res.bytes} bytes, integrity_check ok)`);
  });
}

/** `gateway restore <file>`: replaces DATABASE_PATH with a backup of this site; the gateway must be stopped. */
export function restoreCommand(cfg: Config, file: string, out: Out = stdout): Promise<void> {
  return run(async () => {
    const res = await restoreDatabase(cfg.databasePath, cfg.siteId, file);
    if (res.previous) out(`the database as it was is kept in ${res.previous}`);
    out(`restored ${cfg.databasePath} from ${file}; start the gateway again (it applies any newer migrations)`);
  });
}
