import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DeviceConfigError } from '../drivers/config.ts';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { buildContext } from './bootstrap.ts';
import { ConfigError, type Config, loadConfig, readEnv } from './config.ts';
import { openStore } from './db/store.ts';
import { ROLES } from './db/schema.ts';
import { PACKAGE_ROOT } from './lib/package-root.ts';
import { createLogger, silentLogger } from './logger.ts';
import { startGateway } from './main.ts';
import { generatePassword } from './modules/auth/password.ts';
import { backupCommand, restoreCommand } from './modules/backup/commands.ts';
import { importLegacyCommand } from './modules/import/command.ts';
import { createUser } from './modules/auth/service.ts';
import { seedDemo } from './seed.ts';
import { type CommandIo, hashPassword, hqAddSite, hqMigrate, hqPruneChanges, syncNow, syncRestore, syncStatus } from '../sync/cli.ts';

const USAGE = `usage: gateway <command>
  serve                                   start the gateway (what npm start runs)
  migrate                                 apply database migrations and exit
  user create --username NAME --role ROLE [--password-stdin]
                                          create a user; without --password-stdin a password is generated and printed
  seed                                    create demo users and data (prints their generated passwords)
  backup FILE                             online copy of the database (safe while the gateway runs)
  restore FILE                            replace the database with a backup of this site (gateway stopped)
  import-legacy FILE [--dry-run]          import the FastAPI backend's database.db (users, work orders, stages, issues, machines)
  hash-password                           read a password on stdin, print its hash (for HQ tools creating users)
  hq migrate                              apply the HQ PostgreSQL schema (HQ_DATABASE_URL: owner role)
  hq add-site N --password-stdin          create site N's login role; prints its URL (no password)
  hq prune-changes [--horizon-days N]     drop HQ change-log entries every site has pulled, and any
                                          older than N days (default 30; such a site re-reads its rows)
  sync status | now | restore             print the sync status / run one push and pull cycle /
                                          restore a replacement box of this site from HQ`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function config(): Config {
  try {
    return loadConfig(readEnv(process.cwd(), process.env));
  } catch (err) {
    if (err instanceof ConfigError) fail(`config error: ${err.message}`);
    throw err;
  }
}

async function serve(): Promise<void> {
  const cfg = config();
  const logger = createLogger(cfg);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(cfg, logger);
  } catch (err) {
    if (err instanceof DeviceConfigError) fail(`config error: ${err.message}`);
    logger.fatal({ err }, 'start-up failed');
    fail(`start-up failed: ${(err as Error).message}`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    gateway.stop().then(
      () => {
        logger.info('stopped');
        logger.flush();
        setTimeout(() => process.exit(0), 100).unref();
      },
      (err) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

function migrate(): void {
  const cfg = config();
  const store = openStore(cfg.databasePath, cfg.siteId);
  store.close();
  process.stdout.write(`migrations applied to ${cfg.databasePath}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const userArgs = z.object({
  username: z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, { message: 'must be 3–64 characters of A-Z a-z 0-9 . _ -' }),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
});

async function userCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, role: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  });
  const parsed = userArgs.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`--${String(issue?.path[0] ?? 'username')}: ${issue?.message ?? 'invalid'}`);
  }
  const generated = !values['password-stdin'];
  const password = generated ? generatePassword() : await readStdin();
  if (password.length < 8) fail('password: must be at least 8 characters');
  const cfg = config();
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  try {
    const user = await createUser(ctx, { username: parsed.data.username, password, role: parsed.data.role });
    process.stdout.write(`created user ${user.username} (id ${user.id}, role ${user.role})\n`);
    if (generated) process.stdout.write(`password: ${password}\n`);
  } catch (err) {
    fail(`user create failed: ${(err as Error).message}`);
  } finally {
    ctx.store.close();
  }
}

async function seed(): Promise<void> {
  const cfg = config();
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  try {
    const lines = await seedDemo(ctx);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    ctx.store.close();
  }
}

const io: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  fail,
  readStdin,
};

const [command, sub, ...rest] = process.argv.slice(2);
const args = process.argv.slice(3);
switch (command) {
  case 'serve':
    await serve();
    break;
  case 'migrate':
    migrate();
    break;
  case 'user':
    if (sub !== 'create') fail(USAGE);
    await userCreate(rest);
    break;
  case 'seed':
    await seed();
    break;
  case 'backup':
    await backupCommand(config(), args);
    break;
  case 'restore':
    await restoreCommand(config(), args);
    break;
  case 'import-legacy':
    importLegacyCommand(config(), args);
    break;
  case 'hash-password':
    await hashPassword(io);
    break;
  case 'hq':
    if (sub === 'migrate') await hqMigrate(config(), io);
    else if (sub === 'add-site') await hqAddSite(config(), rest, io);
    else if (sub === 'prune-changes') await hqPruneChanges(config(), rest, io);
    else fail(USAGE);
    break;
  case 'sync':
    if (sub === 'status') syncStatus(config(), io);
    else if (sub === 'now') await syncNow(config(), io);
    else if (sub === 'restore') await syncRestore(config(), io);
    else fail(USAGE);
    break;
  case '--version':
    process.stdout.write(`${JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version}\n`);
    break;
  default:
    fail(USAGE);
}
