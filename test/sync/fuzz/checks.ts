import { MUTABLE_TABLES } from '../../../sync/tables.ts';
import { contentHash, edgeRows, firstDifference, hqSiteRows } from '../compare.ts';
import type { FaultEdge } from './edge.ts';
import { type CellWrite, hqSnapshot, type Snapshot, siteOfClock, specOf } from './ledger.ts';
import type { Run } from './run.ts';

/**
 * What must hold once the link is healed, per site: the edge and HQ hold the same rows, every
 * column; the outbox is empty; no committed write is lost (each cell holds the write that wins by
 * the merge rule among all writes made to it, or a later one, never an older one: so no status
 * went back either); a row HQ deleted that carries floor work is recorded as a conflict on the
 * edge; nothing was set aside as refused (the runs make no row HQ or the edge should refuse: a row
 * set aside here is a transient fault taken for a refusal); no reading or event row is duplicated
 * or missing. Returns the failures, empty when the run converged.
 */
export async function checkRun(run: Run): Promise<string[]> {
  const problems: string[] = [...run.ledger.clashes.map((c) => `one clock, two values: ${c}`)];
  const finals = new Map<number, Snapshot>();
  for (const e of run.edges) {
    finals.set(e.site, await hqSnapshot(run.hq.owner, e.site));
    problems.push(...(await checkEdge(run, e)));
  }
  const all: Snapshot = new Map();
  for (const snap of finals.values()) for (const [id, row] of snap) all.set(id, row);
  problems.push(...checkCells(run, all));
  for (const e of run.edges) problems.push(...checkConflicts(e, finals.get(e.site) ?? new Map()));
  return problems;
}

async function checkEdge(run: Run, e: FaultEdge): Promise<string[]> {
  const out: string[] = [];
  const sqlite = e.ctx.store.sqlite;
  const site = e.site;
  const backlog = (sqlite.prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;
  if (backlog > 0) out.push(`site ${site}: ${backlog} outbox rows never acknowledged`);
  const local = edgeRows(sqlite);
  const central = await hqSiteRows(run.hq.owner, site);
  if (contentHash(local) !== contentHash(central)) out.push(`site ${site} differs: ${firstDifference(local, central)}`);
  const setAside = sqlite.prepare("SELECT direction, tbl, pk, reason FROM sync_rejected WHERE direction <> 'conflict' ORDER BY id").all() as Array<
    Record<string, string>
  >;
  for (const r of setAside) out.push(`site ${site}: ${r.direction} row ${r.tbl} ${r.pk} set aside: ${r.reason}`);
  for (const table of ['machine_readings', 'events']) {
    const dup = await run.hq.owner.query<{ id: number }>(`SELECT id FROM ${table} WHERE site_id = $1 GROUP BY id HAVING count(*) > 1 LIMIT 5`, [site]);
    if (dup.rows.length > 0) out.push(`site ${site}: ${table} duplicated at HQ: ${dup.rows.map((r) => r.id).join(', ')}`);
  }
  const committed = run.ledger.readings.get(site) ?? [];
  if (committed.length > 0) {
    const res = await run.hq.owner.query<{ id: number }>(
      'SELECT x.id FROM unnest($2::bigint[]) x(id) WHERE NOT EXISTS (SELECT 1 FROM machine_readings m WHERE m.site_id = $1 AND m.id = x.id) LIMIT 5',
      [site, committed],
    );
    if (res.rows.length > 0) out.push(`site ${site}: committed readings missing at HQ: ${res.rows.map((r) => r.id).join(', ')}`);
  }
  return out;
}

/** The order the merge keeps: status rank first (for a status column), then the clock. */
function beats(table: string, col: string, a: { value: unknown; clock: string }, b: { value: unknown; clock: string }): boolean {
  const rank = col === 'status' ? specOf(table)?.statusRank : undefined;
  if (rank) {
    const ra = rank[String(a.value)] ?? 0;
    const rb = rank[String(b.value)] ?? 0;
    if (ra !== rb) return ra > rb;
  }
  return a.clock > b.clock;
}

function checkCells(run: Run, finals: Snapshot): string[] {
  const out: string[] = [];
  for (const [cell, writes] of run.ledger.cells) {
    const [table = '', key = '', col = ''] = cell.split('|');
    const row = finals.get(`${table}|${key}`);
    const described = (w: CellWrite) => `${JSON.stringify(w.value)} @${w.clock} by ${w.by} at step ${w.step}`;
    if (!row) {
      const first = [...writes.values()][0];
      out.push(`${table} ${key}: committed at ${first ? described(first) : '?'} but HQ never had the row`);
      continue;
    }
    const final = { value: row.values[col], clock: row.clocks[col] ?? '' };
    let winner: CellWrite | undefined;
    for (const w of writes.values()) if (!winner || beats(table, col, w, winner)) winner = w;
    if (!winner) continue;
    if (beats(table, col, winner, final)) {
      out.push(
        `${table} ${key} ${col}: ${col === 'status' ? 'status went back' : 'write lost'}: HQ holds ${JSON.stringify(final.value)} @${final.clock}, but ${described(winner)} wins over it`,
      );
      continue;
    }
    const same = writes.get(final.clock);
    if (same && JSON.stringify(same.value) !== JSON.stringify(final.value)) {
      out.push(`${table} ${key} ${col}: HQ holds ${JSON.stringify(final.value)} under the clock of ${described(same)}`);
    }
  }
  return out;
}

/** ADR 0014: a row with a status that HQ deleted, still carrying a change of the site, is a recorded conflict. */
function checkConflicts(e: FaultEdge, final: Snapshot): string[] {
  const out: string[] = [];
  const recorded = new Set(
    (e.ctx.store.sqlite.prepare("SELECT tbl, pk FROM sync_rejected WHERE direction = 'conflict'").all() as Array<{ tbl: string; pk: string }>).map(
      (r) => `${r.tbl}|${r.pk}`,
    ),
  );
  const withStatus = new Set(MUTABLE_TABLES.filter((t) => t.statusRank).map((t) => t.name));
  for (const [id, row] of final) {
    const table = id.slice(0, id.indexOf('|'));
    if (!withStatus.has(table)) continue;
    const floorWork = Object.entries(row.clocks).some(([col, clock]) => col !== '_deleted' && siteOfClock(clock) === e.site);
    if (row.values._deleted === 1 && floorWork && !recorded.has(id))
      out.push(`site ${e.site}: ${id.replace('|', ' ')} deleted at HQ over floor work, no conflict recorded`);
    if (row.values._deleted !== 1 && recorded.has(id)) out.push(`site ${e.site}: conflict recorded for ${id.replace('|', ' ')}, which HQ holds live`);
  }
  return out;
}
