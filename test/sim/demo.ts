// `npm run demo`: the gateway with simulated PLCs, demo users and work orders, in a throwaway data
// folder that is deleted on exit. Nothing to configure: PORT (default 8080) and HOST (default
// 127.0.0.1) may be set. Stop with Ctrl-C (or SIGTERM, or by closing its terminal: SIGHUP).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { startGateway } from '../../src/main.ts';
import { seedDemo } from '../../src/seed.ts';
import { freePort } from '../helpers/server.ts';
import { animate, demoDevices } from './demo-plant.ts';
import { ModbusSim } from './modbus-sim.ts';
import { OpcuaSim } from './opcua-sim.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);
const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'gateway-demo-'));
const configDir = path.join(dir, 'config');
mkdirSync(configDir);

const modbus = new ModbusSim(await freePort());
// Its certificates go with the rest of the demo, not into the user's ~/.config.
const opcua = new OpcuaSim(await freePort(), { namespaceUri: 'urn:edge-gateway:simulator', pkiDir: path.join(dir, 'opcua-sim') });
await modbus.start();
await opcua.start();
const stopAnimation = animate(modbus, opcua);

// The shipped example devices (press-01 over Modbus, oven-01 over OPC UA) plus a CNC mill, all
// pointed at the simulators.
const devices = demoDevices(root, modbus.port, opcua);
writeFileSync(path.join(configDir, 'devices.yaml'), stringify(devices));
writeFileSync(path.join(configDir, 'gateway.yaml'), 'devices_file: devices.yaml\n');

const config = loadConfig(
  {
    NODE_ENV: 'development',
    HOST: process.env.HOST ?? '127.0.0.1',
    PORT: process.env.PORT ?? '8080',
    DATABASE_PATH: path.join(dir, 'gateway.db'),
    CONFIG_DIR: configDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    PLANT_TZ: Intl.DateTimeFormat().resolvedOptions().timeZone,
  },
  dir,
);
const logger = createLogger(config);
const adminLines: string[] = [];
const gateway = await startGateway(config, logger, { print: (line) => adminLines.push(line) });
const seeded = await seedDemo(gateway.ctx);

const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${gateway.port}`;
const worker1 = /^\s+worker1\s+worker\s+(\S+)$/.exec(seeded.find((l) => /^\s+worker1\s/.test(l)) ?? '')?.[1] ?? '<worker1 password>';
const firstStage = gateway.ctx.store.sqlite
  .prepare(
    "SELECT s.id FROM work_order_stages s JOIN stage_assignments a ON a.stage_id = s.id JOIN users u ON u.id = a.user_id WHERE u.username = 'worker1' ORDER BY s.planned_start LIMIT 1",
  )
  .get() as { id: number } | undefined;
const stage = firstStage?.id ?? '<stage id>';

out();
out(`Edge gateway demo on ${base}  (interactive API docs: ${base}/docs)`);
out(`data folder (deleted on exit): ${dir}`);
const machinesOn = (protocol: string) =>
  devices.devices
    .filter((d) => d.protocol === protocol)
    .map((d) => String(d.machine))
    .join(', ');
out(`simulated PLCs: Modbus TCP 127.0.0.1:${modbus.port} (${machinesOn('modbus-tcp')}), OPC UA ${opcua.endpoint} (${machinesOn('opcua')})`);
for (const line of adminLines.filter((l) => /username|password/.test(l))) out(line);
for (const line of seeded) out(line);
out();
out('Walk a stage through its life as worker1 (copy and paste):');
out(
  `  TOKEN=$(curl -s ${base}/auth/login -H 'content-type: application/json' -d '{"username":"worker1","password":"${worker1}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).data.access_token')`,
);
out(`  curl -s ${base}/machines -H "authorization: Bearer $TOKEN"             # live readings`);
out(`  curl -s '${base}/stages?assigned_to=me' -H "authorization: Bearer $TOKEN"  # my work`);
out(`  curl -s -X POST ${base}/stages/${stage}/start -H "authorization: Bearer $TOKEN"`);
out(`  curl -s -X POST ${base}/stages/${stage}/pause -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"reason":"material"}'`);
out(`  curl -s -X POST ${base}/stages/${stage}/resume -H "authorization: Bearer $TOKEN"`);
out(`  curl -s -X POST ${base}/stages/${stage}/done -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"qty_good":98,"qty_scrap":2}'`);
out();
out('demo ready; Ctrl-C stops it and deletes the data folder');

// After SIGHUP the terminal is gone and every write fails: that must not end the process before
// it has deleted its folder.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  out(`${signal}: stopping the demo`);
  try {
    stopAnimation();
    await gateway.stop();
    await Promise.all([modbus.stop(), opcua.stop()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
