import { ISSUE_TYPES, MACHINE_STATUSES } from '../../../src/core/vocabulary.ts';
import { T0 } from '../../helpers/app.ts';
import { call, type CutPoint, type FaultEdge } from './edge.ts';
import { hqWrite, pick, type Run } from './run.ts';

/**
 * The work of a run: floor actions through an edge's API (every stage transition, assignments,
 * issues, machines, work orders) or straight into its SQLite (readings), plain SQL at HQ as a
 * planner's tool would write it (plans, updates, status moved forward, deletes), and sync cycles,
 * some with the link cut at a hook. Each returns a line for the failure log.
 */

const rows = <T>(e: FaultEdge, sql: string, ...params: unknown[]) => e.ctx.store.sqlite.prepare(sql).all(...params) as T[];

/** One floor action on edge `e`. */
export async function edgeStep(run: Run, e: FaultEdge, r: () => number): Promise<string> {
  const who = `edge ${e.site}`;
  const k = r();
  if (k < 0.12) {
    const res = await call(e, 'POST', '/workorders', {
      product_code: `P${Math.floor(r() * 9)}`,
      lot_no: 'L',
      qty: 5,
      planned_start: '2026-11-26T08:00:00Z',
      planned_end: '2026-11-26T16:00:00Z',
    });
    return `${who} create work order -> ${res.status}`;
  }
  if (k < 0.42) {
    const st = pick(r, rows<{ id: number; status: string }>(e, 'SELECT id, status FROM work_order_stages'));
    if (!st) return `${who} no stage`;
    const action =
      st.status === 'planned'
        ? 'start'
        : st.status === 'paused'
          ? r() < 0.7
            ? 'resume'
            : 'done'
          : st.status === 'in_progress'
            ? r() < 0.5
              ? 'pause'
              : 'done'
            : undefined;
    if (!action) return `${who} stage ${st.id} done already`;
    const body = action === 'pause' ? { reason: 'break' } : action === 'done' ? { qty_good: 3, qty_scrap: 0 } : {};
    const res = await call(e, 'POST', `/stages/${st.id}/${action}`, body);
    return `${who} ${action} stage ${st.id} -> ${res.status}`;
  }
  if (k < 0.5) {
    const n = 1 + Math.floor(r() * 30);
    let first: number;
    try {
      first = e.ctx.store.commandNow(() => {
        const first = e.ctx.store.ids.block('machine_readings', n);
        const put = e.ctx.store.sqlite.prepare(
          "INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at) VALUES (?, 1, 'temp', ?, 'C', 'good', NULL, ?, ?)",
        );
        for (let i = 0; i < n; i++) put.run(first + i, i, T0 + i, T0 + i);
        return first;
      });
    } catch (err) {
      // A full disk refuses the write (503 on the API): nothing was stored, so nothing is owed.
      if ((err as { code?: string }).code === 'UNAVAILABLE') return `${who} readings refused: ${(err as Error).message}`;
      throw err;
    }
    run.ledger.addReadings(e.site, first, n);
    return `${who} ${n} readings from ${first}`;
  }
  if (k < 0.6) {
    const st = pick(r, rows<{ id: number }>(e, 'SELECT id FROM work_order_stages ORDER BY id'));
    if (!st) return `${who} no stage to assign`;
    const assigned = rows(e, 'SELECT 1 FROM stage_assignments WHERE stage_id = ? AND user_id = ?', st.id, e.workerId).length > 0;
    const res = assigned
      ? await call(e, 'DELETE', `/stages/${st.id}/assignments/${e.workerId}`)
      : await call(e, 'POST', `/stages/${st.id}/assignments`, { user_id: e.workerId });
    return `${who} ${assigned ? 'unassign' : 'assign'} stage ${st.id} -> ${res.status}`;
  }
  if (k < 0.72) {
    const st = pick(r, rows<{ id: number }>(e, 'SELECT id FROM work_order_stages ORDER BY id'));
    if (!st) return `${who} no stage for an issue`;
    const res = await call(e, 'POST', `/stages/${st.id}/issue`, { type: pick(r, ISSUE_TYPES), description: `seen at step ${run.ledger.step}` });
    return `${who} report issue on stage ${st.id} -> ${res.status}`;
  }
  if (k < 0.84) {
    const issue = pick(
      r,
      rows<{ id: number; work_order_stage_id: number; status: string }>(e, "SELECT id, work_order_stage_id, status FROM issues WHERE status <> 'resolved'"),
    );
    if (!issue) return `${who} no open issue`;
    const status = issue.status === 'open' && r() < 0.6 ? 'ack' : 'resolved';
    const res = await call(e, 'PATCH', `/stages/${issue.work_order_stage_id}/issues/${issue.id}`, { status });
    return `${who} ${status} issue ${issue.id} -> ${res.status}`;
  }
  if (k < 0.9) {
    const res = await call(e, 'POST', '/machines', { name: `edge-m-${e.site}-${Math.floor(r() * 1e9)}`, machine_type: 'press' });
    return `${who} create machine -> ${res.status}`;
  }
  const m = pick(r, rows<{ id: number }>(e, 'SELECT id FROM machines ORDER BY id'));
  if (!m) return `${who} no machine`;
  const patch = r() < 0.5 ? { status: pick(r, MACHINE_STATUSES) } : { location: `bay ${Math.floor(r() * 9)}` };
  const res = await call(e, 'PATCH', `/machines/${m.id}`, patch);
  return `${who} patch machine ${m.id} ${JSON.stringify(patch)} -> ${res.status}`;
}

/**
 * A row of the site at HQ chosen uniformly among the live ones matching `where`. A DELETE adds
 * `AND NOT _deleted` itself: a concurrent step's cascade may tombstone the row it waits for, and
 * a DELETE of a tombstone removes the row for good (HQ's purge), which no edge is told of.
 */
const randomRow = (table: string, where = 'true') =>
  `(SELECT id FROM ${table} WHERE site_id = $1 AND NOT _deleted AND ${where} ORDER BY id OFFSET (SELECT floor($2::float8 * count(*))::int FROM ${table} WHERE site_id = $1 AND NOT _deleted AND ${where}) LIMIT 1)`;

/** One plain-SQL write at HQ for the site of edge `e`, as the owner. */
export async function hqStep(run: Run, e: FaultEdge, r: () => number): Promise<string> {
  const site = e.site;
  const x = r();
  const kind = Math.floor(r() * 13);
  const done = (what: string, res: unknown[] | string) => `hq ${what} for ${site}: ${typeof res === 'string' ? res : `${res.length} rows`}`;
  switch (kind) {
    case 0: {
      const res = await hqWrite<{ id: number }>(
        run,
        `WITH wo AS (INSERT INTO work_orders (site_id, product_code, lot_no, qty, planned_start, planned_end)
           VALUES ($1, 'HQ', 'L', 3, '2026-11-27T08:00Z', '2026-11-27T16:00Z') RETURNING id)
         INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name, planned_start, planned_end)
           SELECT $1, wo.id, g, 'hq-stage-' || g, '2026-11-27T08:00Z', '2026-11-27T16:00Z' FROM wo, generate_series(1, $2::int) g RETURNING work_order_id AS id`,
        [site, 1 + Math.floor(x * 3)],
      );
      return done('new work order', res);
    }
    case 1:
      return done(
        'add a stage',
        await hqWrite(
          run,
          `INSERT INTO work_order_stages (site_id, work_order_id, seq, stage_name, planned_start, planned_end)
           SELECT $1, w.id, (SELECT coalesce(max(seq), 0) + 1 FROM work_order_stages WHERE work_order_id = w.id), 'hq-added', '2026-11-27T08:00Z', '2026-11-27T16:00Z'
           FROM work_orders w WHERE w.id = ${randomRow('work_orders')} RETURNING id`,
          [site, x],
        ),
      );
    case 2:
      return done(
        'move planned_end',
        await hqWrite(
          run,
          `UPDATE work_order_stages SET planned_end = planned_end + interval '1 hour' WHERE id = ${randomRow('work_order_stages')} RETURNING id`,
          [site, x],
        ),
      );
    case 3:
      return done(
        'role change',
        await hqWrite(
          run,
          "UPDATE users SET role = CASE role WHEN 'worker' THEN 'manager' ELSE 'worker' END WHERE site_id = $1 AND username LIKE 'worker%' RETURNING id",
          [site],
        ),
      );
    case 4:
      return done('unassign all', await hqWrite(run, 'DELETE FROM stage_assignments WHERE site_id = $1 AND NOT _deleted RETURNING stage_id', [site]));
    case 5:
      return done(
        'close a work order',
        await hqWrite(run, `UPDATE work_orders SET status = 'done' WHERE id = ${randomRow('work_orders', "status <> 'done'")} RETURNING id`, [site, x]),
      );
    case 6:
      return done(
        'delete a stage',
        await hqWrite(run, `DELETE FROM work_order_stages WHERE id = ${randomRow('work_order_stages')} AND NOT _deleted`, [site, x]),
      );
    case 7:
      return done('delete a work order', await hqWrite(run, `DELETE FROM work_orders WHERE id = ${randomRow('work_orders')} AND NOT _deleted`, [site, x]));
    case 8:
      return done('delete an issue', await hqWrite(run, `DELETE FROM issues WHERE id = ${randomRow('issues')} AND NOT _deleted`, [site, x]));
    case 9: {
      const resolve = r() < 0.5;
      const sql = resolve
        ? `UPDATE issues SET status = 'resolved', resolved_at = date_trunc('milliseconds', now()), resolved_by = created_by WHERE id = ${randomRow('issues', "status <> 'resolved'")} RETURNING id`
        : `UPDATE issues SET status = 'ack', acknowledged_at = date_trunc('milliseconds', now()), acknowledged_by = created_by WHERE id = ${randomRow('issues', "status = 'open'")} RETURNING id`;
      return done(resolve ? 'resolve an issue' : 'acknowledge an issue', await hqWrite(run, sql, [site, x]));
    }
    case 10:
      return done(
        'new machine',
        await hqWrite(run, "INSERT INTO machines (site_id, name, machine_type, status, source) VALUES ($1, $2, 'mill', 'idle', 'http') RETURNING id", [
          site,
          `hq-m-${site}-${Math.floor(x * 1e9)}`,
        ]),
      );
    case 11: {
      const set = r() < 0.5 ? `status = '${pick(r, MACHINE_STATUSES)}'` : `location = 'hq bay ${Math.floor(r() * 9)}'`;
      return done(`machine ${set}`, await hqWrite(run, `UPDATE machines SET ${set} WHERE id = ${randomRow('machines')} RETURNING id`, [site, x]));
    }
    default:
      return done('delete a machine', await hqWrite(run, `DELETE FROM machines WHERE id = ${randomRow('machines')} AND NOT _deleted`, [site, x]));
  }
}

/** A sync cycle of edge `e`, the link cut at a random hook in some. */
export async function cycleStep(e: FaultEdge, r: () => number): Promise<string> {
  const points: Array<CutPoint | undefined> = ['before-commit', 'after-commit', 'mid-pull', undefined, undefined];
  e.cut.point = pick(r, points);
  const what = e.cut.point ? ` (cut ${e.cut.point})` : '';
  const ok = await e.sync.runCycle().then(
    (c) => `ok ${c.pushed}/${c.pulled}`,
    (err: Error) => err.message.split('\n')[0],
  );
  e.cut.point = undefined;
  return `edge ${e.site} cycle${what}: ${ok}`;
}
