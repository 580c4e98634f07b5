import type { Command } from 'commander';
import { hqAddSite, hqMigrate, hqPruneChanges, syncNow, syncReplayRejected, syncRestore, syncStatus } from './hq-sync-actions.ts';
import { loadCliConfig, processIo, readNewPassword } from './io.ts';

// `gateway hq …` (at HQ, with the owner role) and `gateway sync …` (on a site's box). The
// functions live in hq-sync-actions.ts; a new subcommand is one more `.command()` below.

export function registerHqCommands(program: Command): void {
  const hq = program.command('hq').description('set up the HQ PostgreSQL database (HQ_DATABASE_URL: the owner role)');
  hq.command('migrate')
    .description('apply the HQ schema; a second run changes nothing')
    .action(() => hqMigrate(loadCliConfig(), processIo));
  hq.command('add-site')
    .description("create site N's login role and print its URL (without the password)")
    .argument('<N>', 'the site number, 1-1023 (its SITE_ID)')
    .option('--password-stdin', "read the role's password (at least 12 characters) from standard input; required")
    .action((site: string, opts: { passwordStdin?: boolean }) =>
      hqAddSite(loadCliConfig(), opts.passwordStdin ? [site, '--password-stdin'] : [site], { ...processIo, readStdin: readNewPassword }),
    );
  hq.command('prune-changes')
    .description('drop change-log entries every site has pulled, and any older than the horizon (such a site re-reads its rows)')
    .option('--horizon-days <n>', 'whole days', '30')
    .action((opts: { horizonDays: string }) => hqPruneChanges(loadCliConfig(), ['--horizon-days', opts.horizonDays], processIo));
}

export function registerSyncCommands(program: Command): void {
  const sync = program.command('sync').description("this site's sync with HQ (HQ_DATABASE_URL: the site's role)");
  sync
    .command('status')
    .description('print the sync status as JSON')
    .action(() => syncStatus(loadCliConfig(), processIo));
  sync
    .command('now')
    .description('run one push and pull cycle; exit 0 only when both succeeded')
    .action(() => syncNow(loadCliConfig(), processIo));
  sync
    .command('restore')
    .description('fill a replacement box (empty database, same SITE_ID) with this site from HQ')
    .action(() => syncRestore(loadCliConfig(), processIo));
  sync
    .command('replay-rejected')
    .description('replay rows set aside as refused, once the cause is fixed: pushed ones are queued, pulled ones re-read from HQ')
    .argument('[ids...]', 'ids of set-aside rows (rejected[].id in `gateway sync status`)')
    .option('--all', 'every refused row set aside')
    .action((ids: string[], opts: { all?: boolean }, cmd: Command) => {
      if (Boolean(opts.all) === ids.length > 0) cmd.error('error: give --all or the ids of the set-aside rows to replay', { exitCode: 2 });
      return syncReplayRejected(loadCliConfig(), opts.all ? ['--all'] : ids, processIo);
    });
}
