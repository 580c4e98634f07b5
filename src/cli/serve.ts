import type { Command } from 'commander';
import { DeviceConfigError } from '../../drivers/config.ts';
import { TlsFilesError } from '../http/tls.ts';
import { DatabaseOpenError } from '../db/open-error.ts';
import { createLogger } from '../logger.ts';
import { startGateway } from '../main.ts';
import { fail, loadCliConfig } from './io.ts';

/** `gateway serve`: runs until SIGTERM or SIGINT, then stops every part in reverse order. */
async function serve(): Promise<void> {
  const cfg = loadCliConfig();
  const logger = createLogger(cfg);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(cfg, logger);
  } catch (err) {
    if (err instanceof DeviceConfigError || err instanceof TlsFilesError) fail(`config error: ${err.message}`);
    // The operator's to fix (a path, a permission, another gateway): the one line says it all.
    if (err instanceof DatabaseOpenError) fail(err.message);
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

export function registerServe(program: Command): void {
  program.command('serve').description('start the gateway (what npm start runs); stops on SIGTERM or SIGINT').action(serve);
}
