// The `gateway` command (bin/gateway.js loads the compiled copy of this file). The command tree
// is in src/cli/: program.ts (root, help, exit statuses), one file per group of commands.
import { runGateway } from './cli/program.ts';

// `gateway … | head`: once the reader has gone, what is left to print has nobody to read it; end
// quietly, as other command-line tools do, instead of an unhandled EPIPE stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(Number(process.exitCode ?? 0));
});

process.exitCode = await runGateway(process.argv);
