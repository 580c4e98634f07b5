// The `gateway` command (bin/gateway.js loads the compiled copy of this file). The command tree
// is in src/cli/: program.ts (root, help, exit statuses), one file per group of commands.
import { runGateway } from './cli/program.ts';

process.exitCode = await runGateway(process.argv);
