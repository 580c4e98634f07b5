import type { AppContext } from '../../context.ts';
import { shiftsBetween } from './calendar.ts';
import { figuresFor } from './service.ts';

/** How long after its end a shift's row is still brought up to date (late completions, counters). */
const KEEP_CURRENT_MS = 24 * 3_600_000;

/**
 * Writes each machine's OEE inputs for every shift that ended in the last day (shift_oee, synced to
 * HQ's oee_by_shift view), and rewrites a row whose figures changed since. Returns the rows written.
 */
export function recordEndedShifts(ctx: AppContext): number {
  const now = ctx.clock.now();
  const shifts = shiftsBetween(ctx.config.settings.oee.shifts, { from: now - KEEP_CURRENT_MS, to: now }, ctx.config.plantTz).filter((s) => s.end <= now);
  if (shifts.length === 0) return 0;
  const sqlite = ctx.store.sqlite;
  const machines = sqlite.prepare('SELECT id, name FROM machines ORDER BY id').all() as Array<{ id: number; name: string }>;
  const rows = shifts.flatMap((s) =>
    machines.map((m) => {
      const f = ctx.store.read(() => figuresFor(ctx, m, { from: s.start, to: s.end }));
      const downtime = f.losses.breakdown_ms + f.losses.setup_ms + f.losses.unassigned_ms;
      return [
        m.id,
        s.id,
        s.start,
        s.end,
        f.planned_ms,
        f.run_ms,
        f.losses.unknown_ms,
        downtime,
        f.losses.short_stop_ms,
        f.good,
        f.scrap,
        f.ideal_ms ?? null,
      ] as const;
    }),
  );
  return ctx.store.commandNow(() => {
    const find = sqlite
      .prepare('SELECT id, planned_ms, run_ms, unknown_ms, downtime_ms, short_stop_ms, good, scrap, ideal_ms FROM shift_oee WHERE machine_id = ? AND shift = ?')
      .raw();
    const insert = sqlite.prepare(
      `INSERT INTO shift_oee (id, machine_id, shift, shift_start, shift_end, planned_ms, run_ms, unknown_ms, downtime_ms, short_stop_ms, good, scrap, ideal_ms, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const update = sqlite.prepare(
      'UPDATE shift_oee SET planned_ms = ?, run_ms = ?, unknown_ms = ?, downtime_ms = ?, short_stop_ms = ?, good = ?, scrap = ?, ideal_ms = ?, updated_at = ? WHERE id = ?',
    );
    let written = 0;
    for (const [machineId, shift, start, end, ...figures] of rows) {
      const existing = find.get(machineId, shift) as unknown[] | undefined;
      if (!existing) {
        insert.run(ctx.store.ids.next('shift_oee'), machineId, shift, start, end, ...figures, now, now);
        written++;
      } else if (existing.slice(1).some((v, i) => v !== figures[i])) {
        update.run(...figures, now, existing[0]);
        written++;
      }
    }
    return written;
  });
}
