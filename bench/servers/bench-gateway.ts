// The gateway as the bench children start it: production settings in a throwaway folder, from the
// build bench/product.ts selects (dist/ unless BENCH_SOURCES=1).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { product } from '../product.ts';

const { loadConfig } = await product<typeof import('../../src/config.ts')>('src/config');
const { createLogger } = await product<typeof import('../../src/logger.ts')>('src/logger');
const { startGateway } = await product<typeof import('../../src/main.ts')>('src/main');

/** Starts a production-mode gateway on a fresh database under a temp folder named by `prefix`. */
export async function startBenchGateway(prefix: string, logLevel: string) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const config = loadConfig(
    {
      NODE_ENV: 'production',
      SITE_ID: '7',
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
      DATABASE_PATH: path.join(dir, 'gateway.db'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? logLevel,
      CONFIG_DIR: path.join(dir, 'config'),
      ADMIN_PASSWORD: 'bench-admin-password',
    },
    dir,
  );
  return { dir, gw: await startGateway(config, createLogger(config), { print: () => {} }) };
}
