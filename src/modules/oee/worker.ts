import type { AppContext } from '../../context.ts';
import { reconcileAllDowntimes, reconcileDowntimes } from './downtime-records.ts';
import { startRunRecorder } from './runs.ts';
import { recordEndedShifts } from './shift-records.ts';

/** How often open stops are looked at: a stop becomes a downtime record within this of crossing the threshold. */
const RECONCILE_EVERY_MS = 15_000;
/** Every this many passes (a minute) the ended shifts' OEE rows are brought up to date. */
const SHIFT_RECORDS_EVERY = 4;

/**
 * The OEE part of the process: records this gateway run (so its absence is `unknown` later) and keeps
 * downtime records current, on every machine status change and on a timer (a stop crosses the
 * threshold, or planned time begins, without any event), and writes each ended shift's OEE inputs.
 */
export function startOee(ctx: AppContext): { name: string; stop(): void } {
  const log = ctx.logger.child({ module: 'oee' });
  const run = startRunRecorder(ctx);
  const guarded = (f: () => void) => {
    try {
      f();
    } catch (err) {
      log.warn({ err }, 'OEE records not updated; the next pass tries again');
    }
  };
  let passes = 0;
  // Ended shifts' rows are rewritten far less often than stops are looked at: every machine's figures
  // over the last day cost more, and nothing there is urgent.
  const pass = () =>
    guarded(() => {
      reconcileAllDowntimes(ctx);
      if (passes++ % SHIFT_RECORDS_EVERY === 0) recordEndedShifts(ctx);
    });
  pass();
  const unsubscribe = ctx.bus.subscribe((e) => {
    // After the driver's command has returned: the change is committed, and its caller is not held up.
    if (e.kind === 'machine.status_changed') setImmediate(() => guarded(() => reconcileDowntimes(ctx, e.entityId)));
  });
  const timer = setInterval(pass, RECONCILE_EVERY_MS);
  timer.unref();
  return {
    name: 'oee',
    stop: () => {
      clearInterval(timer);
      unsubscribe();
      run.stop();
    },
  };
}
