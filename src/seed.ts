import type { AppContext } from './context.ts';
import type { Role } from './core/vocabulary.ts';
import { generatePassword } from './modules/auth/password.ts';
import { createUser, findUserByName } from './modules/auth/service.ts';
import { ensureMachine, listMachines } from './modules/machines/service.ts';
import { assignUser } from './modules/stages/service.ts';
import { createWorkOrder, listWorkOrders } from './modules/workorders/service.ts';

const DEMO_USERS: Array<[string, Role]> = [
  ['planner1', 'planner'],
  ['manager1', 'manager'],
  ['worker1', 'worker'],
  ['worker2', 'worker'],
  ['press-01', 'machine'],
];

const DEMO_MACHINES = [
  { name: 'press-01', machine_type: 'hydraulic press', location: 'hall A' },
  { name: 'cnc-02', machine_type: 'CNC mill', location: 'hall B' },
];

/** The demo work orders are known by their lot numbers: a lot already there is not created again. */
const DEMO_LOTS = [0, 1, 2].map((i) => ({ i, lot_no: `LOT-${2026_000 + i}` }));

function machineNames(ctx: AppContext): Set<string> {
  const names = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = listMachines(ctx, { limit: 500, cursor });
    for (const m of page.items) names.add(m.name);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return names;
}

function summary(created: { users: number; machines: string[]; lots: string[] }): string {
  const parts = [
    created.users > 0 ? `${created.users} users` : '',
    created.machines.length > 0 ? `machines ${created.machines.join(', ')}` : '',
    created.lots.length > 0 ? `work orders ${created.lots.join(', ')} with the default stages` : '',
  ].filter(Boolean);
  return parts.length > 0 ? `created ${parts.join('; ')}` : 'nothing added: the demo users, machines and work orders are already there';
}

/**
 * `gateway seed`: demo users (generated passwords, printed once), machines and work orders. Run
 * again, it adds only what is missing: existing users keep their passwords, and machines and work
 * orders are not duplicated.
 */
export async function seedDemo(ctx: AppContext): Promise<string[]> {
  const lines = ['demo accounts (passwords shown once):'];
  const ids: Record<string, number> = {};
  const created = { users: 0, machines: [] as string[], lots: [] as string[] };
  for (const [username, role] of DEMO_USERS) {
    const existing = findUserByName(ctx, username);
    if (existing) {
      ids[username] = existing.id;
      lines.push(`  ${username.padEnd(10)} ${role.padEnd(8)} (exists, password unchanged)`);
      continue;
    }
    const password = generatePassword();
    ids[username] = (await createUser(ctx, { username, password, role })).id;
    created.users++;
    lines.push(`  ${username.padEnd(10)} ${role.padEnd(8)} ${password}`);
  }
  const machines = machineNames(ctx);
  for (const machine of DEMO_MACHINES) {
    if (machines.has(machine.name)) continue;
    ensureMachine(ctx, machine, 'http');
    created.machines.push(machine.name);
  }
  const planner = { userId: ids.planner1 ?? 0, role: 'planner' as const };
  const day = 24 * 3600_000;
  const start = Math.floor(ctx.clock.now() / day) * day + 6 * 3600_000;
  for (const { i, lot_no } of DEMO_LOTS) {
    if (listWorkOrders(ctx, { limit: 1, lot_no }).items.length > 0) continue;
    const wo = ctx.store.commandNow((tx) =>
      createWorkOrder(ctx, tx, planner, {
        product_code: `P-${100 + i}`,
        lot_no,
        qty: 100 * (i + 1),
        planned_start: start + i * day,
        planned_end: start + i * day + 8 * 3600_000,
      }),
    );
    created.lots.push(lot_no);
    const first = wo.stages[0];
    if (first && ids.worker1) {
      const worker = ids.worker1;
      ctx.store.commandNow((tx) => assignUser(ctx, tx, planner, first.id, worker));
    }
  }
  lines.push(summary(created));
  return lines;
}
