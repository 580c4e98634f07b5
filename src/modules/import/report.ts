/** What the importer brings over, in order. */
export const ENTITIES = ['users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues', 'machine_readings'] as const;
export type Entity = (typeof ENTITIES)[number];

export interface MappedId {
  legacyId: number;
  id: number;
  /** imported now, imported by an earlier run, or linked to a row of the same name created here. */
  how: 'imported' | 'already' | 'linked';
}

/** The outcome of one import run; printed by `gateway import-legacy`. */
export interface ImportReport {
  source: string;
  siteId: number;
  plantTz: string;
  dryRun: boolean;
  counts: Record<Entity, { imported: number; already: number; skipped: number }>;
  skipped: Array<{ table: Entity; legacyId: number | string; reason: string }>;
  notes: string[];
  /** Old id → new id per table (readings are only counted: there can be millions). */
  mapping: Record<Exclude<Entity, 'machine_readings' | 'stage_assignments'>, MappedId[]>;
}

export function emptyReport(source: string, siteId: number, plantTz: string, dryRun: boolean): ImportReport {
  const counts = Object.fromEntries(ENTITIES.map((e) => [e, { imported: 0, already: 0, skipped: 0 }])) as ImportReport['counts'];
  return {
    source,
    siteId,
    plantTz,
    dryRun,
    counts,
    skipped: [],
    notes: [],
    mapping: { users: [], machines: [], work_orders: [], work_order_stages: [], issues: [] },
  };
}

/** Records a skipped row: counted, and listed with its reason. */
export function skip(report: ImportReport, table: Entity, legacyId: number | string, reason: string): void {
  report.counts[table].skipped++;
  report.skipped.push({ table, legacyId, reason });
}

export function formatReport(r: ImportReport): string[] {
  const lines = [
    `${r.dryRun ? 'dry run (nothing written): ' : ''}import of ${r.source} into site ${r.siteId} (naive times read in ${r.plantTz})`,
    '',
    `${'table'.padEnd(20)}${'imported'.padStart(10)}${'already'.padStart(10)}${'skipped'.padStart(10)}`,
  ];
  for (const e of ENTITIES) {
    const c = r.counts[e];
    lines.push(`${e.padEnd(20)}${String(c.imported).padStart(10)}${String(c.already).padStart(10)}${String(c.skipped).padStart(10)}`);
  }
  if (r.skipped.length > 0) {
    lines.push('', 'skipped (not imported; fix the old database and run again, imported rows are not duplicated):');
    for (const s of r.skipped) lines.push(`  ${s.table} ${s.legacyId}: ${s.reason}`);
  }
  if (r.notes.length > 0) lines.push('', 'notes:', ...r.notes.map((n) => `  ${n}`));
  lines.push('', 'id mapping (old id → new id):');
  for (const [table, ids] of Object.entries(r.mapping)) {
    for (const m of ids) lines.push(`  ${table} ${m.legacyId} → ${m.id}${m.how === 'imported' ? '' : ` (${m.how})`}`);
  }
  return lines;
}
