import type { AppContext } from './context.ts';
import type { Role } from './db/schema.ts';
import { generatePassword } from './modules/auth/password.ts';
import { createUser, findUserByName } from './modules/auth/service.ts';
import { ensureMachine } from './modules/machines/service.ts';
import { assignUser } from './modules/stages/service.ts';
import { createWorkOrder } from './modules/workorders/service.ts';

const DEMO_USERS: Array<[string, Role]> = [
  ['planner1', 'planner'],
  ['manager1', 'manager'],
  ['worker1', 'worker'],
  ['worker2', 'worker'],
  ['press-01', 'machine'],
];

/** `npm run seed`: demo users (generated passwords, printed once), machines and work orders. */
export async function seedDemo(ctx: AppContext): Promise<string[]> {
  const lines = ['demo accounts (passwords shown once):'];
  const ids: Record<string, number> = {};
  for (const [username, role] of DEMO_USERS) {
    const existing = findUserByName(ctx, username);
    if (existing) {
      ids[username] = existing.id;
      lines.push(`  ${username.padEnd(10)} ${role.padEnd(8)} (exists, password unchanged)`);
      continue;
    }
    const password = generatePassword();
    ids[username] = (await createUser(ctx, { username, password, role })).id;
    lines.push(`  ${username.padEnd(10)} ${role.padEnd(8)} ${password}`);
  }
  ensureMachine(ctx, { name: 'press-01', machine_type: 'hydraulic press', location: 'hall A' }, 'http');
  ensureMachine(ctx, { name: 'cnc-02', machine_type: 'CNC mill', location: 'hall B' }, 'http');
  const planner = { userId: ids.planner1 ?? 0, role: 'planner' as const };
  const day = 24 * 3600_000;
  const start = Math.floor(ctx.clock.now() / day) * day + 6 * 3600_000;
  for (let i = 0; i < 3; i++) {
    const wo = ctx.store.commandNow((tx) =>
      createWorkOrder(ctx, tx, planner, {
        product_code: `P-${100 + i}`,
        lot_no: `LOT-${2026_000 + i}`,
        qty: 100 * (i + 1),
        planned_start: start + i * day,
        planned_end: start + i * day + 8 * 3600_000,
      }),
    );
    const first = wo.stages[0];
    if (first && ids.worker1) {
      const worker = ids.worker1;
      ctx.store.commandNow((tx) => assignUser(ctx, tx, planner, first.id, worker));
    }
  }
  lines.push('machines press-01 and cnc-02, and 3 work orders with the default stages, created');
  return lines;
}
