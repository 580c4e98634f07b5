import type { Command } from 'commander';
import { z } from 'zod';
import { hashPassword } from './hq-sync-actions.ts';
import { buildContext } from '../bootstrap.ts';
import { ROLES } from '../core/vocabulary.ts';
import { openStore } from '../db/store.ts';
import { silentLogger } from '../logger.ts';
import { generatePassword } from '../modules/auth/password.ts';
import { createUser } from '../modules/auth/service.ts';
import { backupCommand, restoreCommand } from '../modules/backup/commands.ts';
import { importLegacyCommand } from '../modules/import/command.ts';
import { seedDemo } from '../seed.ts';
import { EXIT, fail, loadCliConfig, out, processIo, readNewPassword } from './io.ts';

// The commands that work on this box's database, beside a running gateway or not.

function migrate(): void {
  const cfg = loadCliConfig();
  openStore(cfg.databasePath, cfg.siteId).close();
  out(`migrations applied to ${cfg.databasePath}`);
}

const userArgs = z.object({
  username: z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, { message: 'must be 3–64 characters of A-Z a-z 0-9 . _ -' }),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
});

interface UserCreateOptions {
  username?: string;
  role?: string;
  passwordStdin?: boolean;
}

async function userCreate(opts: UserCreateOptions): Promise<void> {
  const parsed = userArgs.safeParse(opts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`--${String(issue?.path[0] ?? 'username')}: ${issue?.message ?? 'invalid'}`);
  }
  const generated = !opts.passwordStdin;
  const password = generated ? generatePassword() : await readNewPassword();
  if (password.length < 8) fail('password: must be at least 8 characters');
  const cfg = loadCliConfig();
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  try {
    const user = await createUser(ctx, { username: parsed.data.username, password, role: parsed.data.role });
    out(`created user ${user.username} (id ${user.id}, role ${user.role})`);
    if (generated) out(`password: ${password}`);
  } catch (err) {
    fail(`user create failed: ${(err as Error).message}`);
  } finally {
    ctx.store.close();
  }
}

async function seed(): Promise<void> {
  const ctx = buildContext(loadCliConfig(), silentLogger(), { processMetrics: false });
  try {
    for (const line of await seedDemo(ctx)) out(line);
  } finally {
    ctx.store.close();
  }
}

export function registerSiteCommands(program: Command): void {
  program.command('migrate').description('apply database migrations and exit').action(migrate);

  const user = program.command('user').description('manage users of the gateway');
  user
    .command('create')
    .description('create a user; without --password-stdin a password is generated and printed once')
    // Required, but checked in the action: commander checks required options before unknown
    // ones, and a misspelt --usernme must be named as such, not as a missing --username.
    .option('--username <name>', 'required: 3–64 characters of A-Z a-z 0-9 . _ -')
    .option('--role <role>', `required: ${ROLES.join(' | ')}`)
    .option('--password-stdin', 'read the password (at least 8 characters) from standard input')
    .action((opts: UserCreateOptions, cmd: Command) => {
      for (const name of ['username', 'role'] as const) {
        if (opts[name] === undefined) cmd.error(`error: required option '--${name}' not specified`, { exitCode: EXIT.usage });
      }
      return userCreate(opts);
    });

  program.command('seed').description('create demo users (generated passwords printed once), machines and work orders; a second run adds nothing').action(seed);

  program
    .command('backup')
    .description('online copy of the database, checked with integrity_check (safe while the gateway runs)')
    .argument('<file>', 'where the copy is written')
    .option('--force', 'overwrite FILE if it exists')
    .action((file: string, opts: { force?: boolean }) => backupCommand(loadCliConfig(), file, opts));

  program
    .command('restore')
    .description('replace the database with a backup of this site (the gateway must be stopped)')
    .argument('<file>', 'a file written by `gateway backup`')
    .action((file: string) => restoreCommand(loadCliConfig(), file));

  program
    .command('import-legacy')
    .description("import the FastAPI backend's database.db (users, work orders, stages, issues, machines)")
    .argument('<file>', "the old backend's SQLite file")
    .option('--dry-run', 'report what would be imported, change nothing')
    .action((file: string, opts: { dryRun?: boolean }) => importLegacyCommand(loadCliConfig(), file, opts));

  program
    .command('hash-password')
    .description('print the hash of a password, for HQ tools that create users: typed twice without echo at a terminal, else read from standard input')
    .action(() => hashPassword({ ...processIo, readStdin: readNewPassword }));
}
