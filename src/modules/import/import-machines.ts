import { byLegacyId, type ImportCtx } from './import-users.ts';
import type { LegacyDb } from './legacy-db.ts';
import { type ImportReport, skip } from './report.ts';
import { int, text, time } from './values.ts';

/**
 * Machines come over as `offline`: their state in the old database is history, and the drivers
 * or the next reading set the live one. A name that exists here (a configured device) is linked.
 */
export function importMachines(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport): Map<number, number> {
  const map = new Map<number, number>();
  if (!legacy.has('machines')) return map;
  for (const row of legacy.rows('machines')) {
    const legacyId = int(row.id);
    if (legacyId === undefined) {
      skip(report, 'machines', String(row.id), 'id is not an integer');
      continue;
    }
    const done = byLegacyId(ctx, 'machines', legacyId);
    const name = text(row.name)?.trim() ?? '';
    const existing = done ?? ctx.tx.machines.idByName(name);
    if (existing !== undefined) {
      map.set(legacyId, existing);
      report.counts.machines.already++;
      report.mapping.machines.push({ legacyId, id: existing, how: done !== undefined ? 'already' : 'linked' });
      continue;
    }
    if (name.length === 0 || name.length > 64) {
      skip(report, 'machines', legacyId, `name '${name}' must be 1–64 characters`);
      continue;
    }
    const now = ctx.clock.now();
    const id = ctx.store.ids.next('machines');
    const machineType = text(row.machine_type ?? null)?.trim() || 'unknown';
    ctx.tx.machines.insert({
      id,
      name,
      machineType,
      location: text(row.location ?? null) ?? null,
      status: 'offline',
      source: 'http',
      createdAt: now,
      updatedAt: now,
      legacyId,
    });
    ctx.tx.emit({
      kind: 'machine.created',
      entityType: 'machine',
      entityId: id,
      toStatus: 'offline',
      data: { name, source: 'http', imported_from: 'fastapi', legacy_id: legacyId },
    });
    map.set(legacyId, id);
    report.counts.machines.imported++;
    report.mapping.machines.push({ legacyId, id, how: 'imported' });
  }
  return map;
}

/** Readings are facts: inserted once (legacy_id), never updated; machine_latest follows the newest. */
export function importReadings(ctx: ImportCtx, legacy: LegacyDb, report: ImportReport, machineIds: Map<number, number>): void {
  const timeColumn = legacy.readingTimeColumn;
  if (!legacy.has('machine_readings') || !timeColumn) return;
  const seen = new Set(
    (ctx.store.sqlite.prepare('SELECT legacy_id FROM machine_readings WHERE legacy_id IS NOT NULL').all() as Array<{ legacy_id: number }>).map(
      (r) => r.legacy_id,
    ),
  );
  const insert = ctx.store.sqlite.prepare(
    'INSERT INTO machine_readings (id, machine_id, reading_type, value, unit, quality, reason, source_ts, recorded_at, legacy_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const latest = ctx.store.sqlite.prepare(
    'INSERT INTO machine_latest (machine_id, reading_type, value, unit, quality, source_ts) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (machine_id, reading_type) DO UPDATE SET value = excluded.value, unit = excluded.unit, quality = excluded.quality, ' +
      'source_ts = excluded.source_ts WHERE excluded.source_ts > machine_latest.source_ts',
  );
  // Millions of readings would drown the report: reasons are counted, and the first few listed.
  const reasons = new Map<string, number>();
  const refuse = (legacyId: number | string, reason: string) => {
    const n = (reasons.get(reason) ?? 0) + 1;
    reasons.set(reason, n);
    if (n <= 5) skip(report, 'machine_readings', legacyId, reason);
    else report.counts.machine_readings.skipped++;
  };
  for (const row of legacy.iterate('machine_readings')) {
    const legacyId = int(row.id);
    if (legacyId === undefined) {
      refuse(String(row.id), 'id is not an integer');
      continue;
    }
    if (seen.has(legacyId)) {
      report.counts.machine_readings.already++;
      continue;
    }
    const machineId = machineIds.get(int(row.machine_id) ?? Number.NaN);
    if (machineId === undefined) {
      refuse(legacyId, `machine ${String(row.machine_id)} was not imported`);
      continue;
    }
    const readingType = text(row.reading_type)?.trim();
    const at = time(row[timeColumn] ?? null, ctx.plantTz, timeColumn, true);
    if (!readingType) {
      refuse(legacyId, 'reading_type is missing');
      continue;
    }
    if (!at.ok || at.value === null) {
      refuse(legacyId, at.ok ? `${timeColumn} is missing` : at.reason);
      continue;
    }
    const value = typeof row.value === 'number' ? row.value : typeof row.value === 'string' && row.value.trim() !== '' ? Number(row.value) : Number.NaN;
    const good = Number.isFinite(value);
    const unit = text(row.unit ?? null) ?? null;
    const quality = good ? 'good' : 'bad';
    const reason = good ? null : 'no numeric value in the old database';
    insert.run(ctx.store.ids.next('machine_readings'), machineId, readingType, good ? value : null, unit, quality, reason, at.value, at.value, legacyId);
    latest.run(machineId, readingType, good ? value : null, unit, quality, at.value);
    report.counts.machine_readings.imported++;
  }
  for (const [reason, n] of reasons) if (n > 5) report.notes.push(`${n} readings skipped: ${reason} (first 5 listed)`);
}
