import { iso } from '../../core/iso.ts';
import type { Database } from 'better-sqlite3';
import type { machineLatest, machines } from '../schema.ts';
import { type ColumnList, insertStatement, selectList } from './columns.ts';

/** A row of machines under drizzle's property names. */
export type MachineRow = typeof machines.$inferSelect;

/** machines, in table order. */
export const MACHINE_COLUMNS = {
  id: 'id',
  name: 'name',
  machineType: 'machine_type',
  location: 'location',
  status: 'status',
  source: 'source',
  lastSeenAt: 'last_seen_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  legacyId: 'legacy_id',
} as const satisfies ColumnList<MachineRow>;

const ROW = selectList(MACHINE_COLUMNS);

type Quality = (typeof machineLatest.$inferSelect)['quality'];

/** The newest value of each reading type of a machine, as GET /machines shows it. */
export type LatestValues = Record<string, { value: number | null; unit: string | null; quality: Quality; reason: string | null; timestamp: string }>;

/** A machine as the API shows it (the Machine schema of machines/schemas.ts). */
export function machineView(m: MachineRow, latest: LatestValues) {
  return {
    id: m.id,
    name: m.name,
    machine_type: m.machineType,
    location: m.location,
    status: m.status,
    source: m.source,
    last_seen_at: iso(m.lastSeenAt),
    latest,
  };
}

type LatestRow = {
  machine_id: number;
  reading_type: string;
  value: number | null;
  unit: string | null;
  quality: Quality;
  source_ts: number;
  reason: string | null;
};

/** The machine reads. */
export function machineReads(sqlite: Database) {
  const byId = sqlite.prepare<[number], MachineRow>(`SELECT ${ROW} FROM machines WHERE id = ?`);
  const exists = sqlite.prepare<[number], number>('SELECT 1 FROM machines WHERE id = ?').pluck();
  const idByName = sqlite.prepare<[string], number>('SELECT id FROM machines WHERE name = ?').pluck();
  const page = sqlite.prepare<[number, number], MachineRow>(`SELECT ${ROW} FROM machines WHERE id > ? ORDER BY id LIMIT ?`);
  // machine_latest keeps no reason; a non-good latest value takes it from the reading it came from.
  const latestOf = sqlite.prepare<[string], LatestRow>(
    'SELECT l.machine_id, l.reading_type, l.value, l.unit, l.quality, l.source_ts, ' +
      "CASE WHEN l.quality = 'good' THEN NULL ELSE (SELECT r.reason FROM machine_readings r WHERE r.machine_id = l.machine_id " +
      'AND r.reading_type = l.reading_type AND r.source_ts = l.source_ts ORDER BY r.id DESC LIMIT 1) END AS reason ' +
      'FROM machine_latest l WHERE l.machine_id IN (SELECT value FROM json_each(?))',
  );
  /** The latest values of each machine (one query for all). */
  const latest = (ids: number[]): Map<number, LatestValues> => {
    const map = new Map<number, LatestValues>();
    if (ids.length === 0) return map;
    for (const r of latestOf.all(JSON.stringify(ids))) {
      const entry = map.get(r.machine_id) ?? {};
      entry[r.reading_type] = { value: r.value, unit: r.unit, quality: r.quality, reason: r.reason, timestamp: iso(r.source_ts) };
      map.set(r.machine_id, entry);
    }
    return map;
  };
  return {
    byId: (id: number): MachineRow | undefined => byId.get(id),
    /** The id of the machine of that name, or undefined. */
    idByName: (name: string): number | undefined => idByName.get(name),
    exists: (id: number): boolean => exists.get(id) !== undefined,
    /** Up to `limit` machines after id `after`, by id. */
    page: (after: number[] | undefined, limit: number): MachineRow[] => page.all(after?.[0] ?? -1, limit),
    latest,
    /** Rows as the API shows them, with their latest values. */
    views(rows: MachineRow[]) {
      const values = latest(rows.map((m) => m.id));
      return rows.map((m) => machineView(m, values.get(m.id) ?? {}));
    },
  };
}

/** A new machine (the schema's insert type: nullable columns may be left out). */
export type NewMachine = typeof machines.$inferInsert;

/** The machine writes, reachable only as `tx.machines` (command.ts). */
export function machineWrites(sqlite: Database, reads: MachineReads) {
  const insert = insertStatement<MachineRow>(sqlite, 'machines', MACHINE_COLUMNS);
  const update = sqlite.prepare<[string, string | null, number, number], MachineRow>(
    `UPDATE machines SET status = ?, location = ?, updated_at = ? WHERE id = ? RETURNING ${ROW}`,
  );
  // Readings may arrive out of order: last_seen_at only moves forward.
  const seen = sqlite.prepare<[number, number]>('UPDATE machines SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?');
  return {
    ...reads,
    insert: (m: NewMachine): void => void insert(m),
    /** The machine after the change, or undefined when there is none. */
    update: (id: number, c: Pick<MachineRow, 'status' | 'location' | 'updatedAt'>): MachineRow | undefined => update.get(c.status, c.location, c.updatedAt, id),
    /** A reading of `at` came in: last_seen_at becomes at least that. */
    seen: (id: number, at: number): void => void seen.run(at, id),
  };
}

export type MachineReads = ReturnType<typeof machineReads>;
export type MachineWrites = ReturnType<typeof machineWrites>;
