import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Tx } from '../src/db/command.ts';
import { applyCapture, CAPTURE_CONFIGS } from './capture.ts';
import { product } from './product.ts';

const { buildContext } = await product<typeof import('../src/bootstrap.ts')>('src/bootstrap');
const { loadConfig } = await product<typeof import('../src/config.ts')>('src/config');
const { silentLogger } = await product<typeof import('../src/logger.ts')>('src/logger');
const { transitionStage } = await product<typeof import('../src/modules/stages/service.ts')>('src/modules/stages/service');
const { createWorkOrder } = await product<typeof import('../src/modules/workorders/service.ts')>('src/modules/workorders/service');

export interface CommandPathFigures {
  name: string;
  /** Stage transitions per second (start and done each count one). */
  perS: number;
  /** CPU (user + system) of this process per transition. */
  cpuUs: number;
}

/**
 * The command path without HTTP: stage start then done through `store.command` (group commit,
 * synchronous=FULL), `inFlight` commands at a time like the HTTP bench's connections, once per
 * capture config. What HTTP adds is the difference to the gateway's CPU per write.
 */
export async function benchCommandPath(transitionsPerConfig = 10_000, inFlight = 32): Promise<CommandPathFigures[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-cmd-'));
  const config = loadConfig(
    {
      NODE_ENV: 'production',
      SITE_ID: '8',
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
      DATABASE_PATH: path.join(dir, 'g.db'),
      LOG_LEVEL: 'silent',
      CONFIG_DIR: path.join(dir, 'config'),
    },
    dir,
  );
  const ctx = buildContext(config, silentLogger(), { processMetrics: false });
  try {
    ctx.store.sqlite.exec("INSERT INTO users (id, username, password_hash, role, active, created_at, updated_at) VALUES (1, 'bench', '-', 'planner', 1, 0, 0)");
    const actor = { userId: 1, role: 'planner' as const, requestId: '00000000-0000-4000-8000-000000000000' };
    const stageIds: number[] = [];
    const perStage = 2;
    const orders = Math.ceil(((CAPTURE_CONFIGS.length + 1) * transitionsPerConfig) / perStage / ctx.config.settings.stage_template.length);
    ctx.store.commandNow((tx) => {
      for (let i = 0; i < orders; i++) {
        const wo = createWorkOrder(ctx, tx, actor, { product_code: 'P', lot_no: `L-${i}`, qty: 10, planned_start: 0, planned_end: 8 * 3600_000 });
        for (const s of wo.stages) stageIds.push(s.id);
      }
    });
    let next = 0;
    const run = async (transitions: number) => {
      for (let done = 0; done < transitions; done += inFlight * perStage) {
        const ids = stageIds.slice(next, next + inFlight);
        next += inFlight;
        const act = (action: 'start' | 'done') => Promise.all(ids.map((id) => ctx.store.command((tx: Tx) => transitionStage(ctx, tx, actor, id, action, {}))));
        await act('start');
        await act('done');
      }
    };
    await run(transitionsPerConfig); // warm-up
    const figures: CommandPathFigures[] = [];
    for (const c of CAPTURE_CONFIGS) {
      applyCapture(ctx.store.sqlite, c);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await run(transitionsPerConfig);
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      figures.push({ name: c.name, perS: transitionsPerConfig / secs, cpuUs: (cpu.user + cpu.system) / transitionsPerConfig });
    }
    return figures;
  } finally {
    ctx.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
