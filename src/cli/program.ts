import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { DatabaseOpenError } from '../db/open-error.ts';
import { PACKAGE_ROOT } from '../lib/package-root.ts';
import { registerHqCommands, registerSyncCommands } from './hq-sync-commands.ts';
import { EXIT } from './io.ts';
import { PromptCancelled } from './prompt.ts';
import { registerServe } from './serve.ts';
import { registerSiteCommands } from './site-commands.ts';

const EXIT_HELP = `
Exit status: 0 done; 1 the command failed or refused (one line on stderr says why, e.g. a bad
option value, a database that cannot be opened); 2 usage error (unknown command or option, a
missing or extra argument; the usage follows the error); 130 cancelled at a prompt (Ctrl-C).
Settings come from the environment and .env (DATABASE_PATH, SITE_ID, ...; see README.md).`;

/** commander puts "(Did you mean …?)" on a line of its own; a refusal is one line. */
function oneLineError(text: string, write: (text: string) => void): void {
  write(text.replace(/\n\(Did you mean (.*)\?\)\n$/, ' (did you mean $1?)\n'));
}

/**
 * The `gateway` command tree. Settings given to the root before the subcommands are created
 * (exit override, output, help after an error) are inherited by every subcommand.
 */
export function buildProgram(): Command {
  const version = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version as string;
  const program = new Command('gateway')
    .description('Factory-floor edge gateway: work-order API on embedded SQLite, PLC drivers, MQTT and HQ sync')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print the help of a command')
    .exitOverride()
    .configureOutput({ outputError: oneLineError })
    .showHelpAfterError()
    .addHelpText('after', EXIT_HELP);
  registerServe(program);
  registerSiteCommands(program);
  registerHqCommands(program);
  registerSyncCommands(program);
  return program;
}

/** Parses `argv` and runs the command; resolves to the exit status (a refusal may exit at once). */
export async function runGateway(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    // --help and --version end as a CommanderError with status 0; everything else commander
    // throws is a usage error, already printed with the usage.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof DatabaseOpenError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.failed;
    }
    if (err instanceof PromptCancelled) return EXIT.cancelled;
    throw err;
  }
}
