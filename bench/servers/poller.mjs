// One gateway process polling the simulators (BENCH_PORTS) with BENCH_TAGS float32 tags each at
// BENCH_POLL_MS, through the whole pipeline (drivers → report by exception → batch writer).
// Plain JavaScript so that BENCH_COMPILED=1 runs what ships: dist/ under plain node, without tsx
// (whose loader thread and transpiled sources add ~35 MB of RSS); otherwise the sources under tsx.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

const compiled = process.env.BENCH_COMPILED === '1';
const from = (module) => (compiled ? `../../dist/src/${module}.js` : `../../src/${module}.ts`);
const { loadConfig } = await import(from('config'));
const { createLogger } = await import(from('logger'));
const { startGateway } = await import(from('main'));

const ports = (process.env.BENCH_PORTS ?? '').split(',').map(Number);
const tags = Number(process.env.BENCH_TAGS ?? 1000);
const pollMs = Number(process.env.BENCH_POLL_MS ?? 1000);
const dir = mkdtempSync(path.join(tmpdir(), 'gw-poll-'));
const cfgDir = path.join(dir, 'config');
mkdirSync(cfgDir);
writeFileSync(
  path.join(cfgDir, 'devices.yaml'),
  stringify({
    machines: ports.map((_, i) => ({ name: `machine-${i}`, machine_type: 'bench' })),
    devices: ports.map((port, i) => ({
      name: `plc-${i}`,
      protocol: 'modbus-tcp',
      machine: `machine-${i}`,
      host: '127.0.0.1',
      port,
      poll_interval_ms: pollMs,
      timeout_ms: 2000,
      tags: Array.from({ length: tags }, (_, t) => ({
        name: `t${t}`,
        reading_type: `value_${t}`,
        area: 'holding',
        address: 2 * t,
        data_type: 'float32',
        deadband: 0.01,
      })),
    })),
  }),
);
writeFileSync(
  path.join(cfgDir, 'gateway.yaml'),
  `devices_file: devices.yaml\n${process.env.BENCH_FLUSH_MS ? `readings:\n  flush_interval_ms: ${process.env.BENCH_FLUSH_MS}\n` : ''}`,
);
const config = loadConfig(
  {
    NODE_ENV: 'production',
    SITE_ID: '8',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
    DATABASE_PATH: path.join(dir, 'gateway.db'),
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    CONFIG_DIR: cfgDir,
    ADMIN_PASSWORD: 'bench-admin-password',
  },
  dir,
);
const gw = await startGateway(config, createLogger(config), { print: () => {} });
// Per-measurement profiles need the TypeScript helper; a compiled run can use BENCH_CHILD_PROFILE.
if (process.env.BENCH_CPU_PROF && !compiled) (await import('../profiling.ts')).acceptProfileRequests(process.env.BENCH_CPU_PROF);
process.send?.({ port: gw.port });
process.on('SIGTERM', () => {
  void gw.stop().then(() => process.exit(0));
});
