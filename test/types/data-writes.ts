import type { AppContext } from '../../src/context.ts';
import type { StageChange } from '../../src/db/entities/stages.ts';

/**
 * Compile-time checks (`npm run typecheck`): each line marked `@ts-expect-error` must fail to
 * compile, so a write outside a command is a build error, not a silent auto-commit. Never called;
 * data-columns.test.ts checks the same at run time.
 */
export async function writesOutsideCommands(ctx: AppContext, change: StageChange): Promise<void> {
  const now = ctx.clock.now();
  // @ts-expect-error the store's data access has reads only
  ctx.store.data.stages.update(1, change);
  // @ts-expect-error a work order's status changes only in a command
  ctx.store.data.workOrders.setStatus(1, 'done', now);
  // @ts-expect-error nor does a user's role
  ctx.store.data.users.setRole(1, 'admin', now);
  // @ts-expect-error the old statements bag is gone
  ctx.store.writes.updateStage.run();
  // Inside a command the same write compiles.
  await ctx.store.command((tx) => tx.workOrders.setStatus(1, 'done', now));
}
