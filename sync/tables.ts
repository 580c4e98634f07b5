/**
 * What is replicated, table by table: the one description that capture triggers, push, pull,
 * merge and restore all read, so the edge and HQ agree on names, keys and column types.
 */

/** How a column is stored on the edge (SQLite) and at HQ (PostgreSQL). */
export type ColKind = 'int' | 'real' | 'text' | 'bool' | 'time' | 'json';

export interface TableSpec {
  name: string;
  /** Primary key columns; a composite key travels as "a:b". */
  pk: string[];
  /** Synced columns with their kind, in table order (the pk included). */
  cols: Record<string, ColKind>;
  /** Facts are insert-only: no clocks, no merge, duplicates ignored. */
  fact: boolean;
  /** A status that only moves forward: rank of each value (equal ranks fall back to the clock). */
  statusRank?: Record<string, number>;
  /** Foreign keys on the edge, so a pulled child can bring its parent. */
  parents?: Array<{ col: string; table: string }>;
  /** The SQLite migration that added its capture triggers, for tables added after 0002 (capture-sql.ts). */
  since?: string;
}

export const TABLES: TableSpec[] = [
  {
    name: 'users',
    pk: ['id'],
    cols: { id: 'int', username: 'text', password_hash: 'text', role: 'text', active: 'bool', created_at: 'time', updated_at: 'time' },
    fact: false,
  },
  {
    name: 'machines',
    pk: ['id'],
    cols: {
      id: 'int',
      name: 'text',
      machine_type: 'text',
      location: 'text',
      status: 'text',
      source: 'text',
      last_seen_at: 'time',
      created_at: 'time',
      updated_at: 'time',
    },
    fact: false,
  },
  {
    name: 'work_orders',
    pk: ['id'],
    cols: {
      id: 'int',
      product_code: 'text',
      lot_no: 'text',
      qty: 'int',
      planned_start: 'time',
      planned_end: 'time',
      status: 'text',
      created_by: 'int',
      created_at: 'time',
      updated_at: 'time',
    },
    fact: false,
    statusRank: { planned: 0, in_progress: 1, done: 2 },
  },
  {
    name: 'work_order_stages',
    pk: ['id'],
    cols: {
      id: 'int',
      work_order_id: 'int',
      seq: 'int',
      stage_name: 'text',
      planned_start: 'time',
      planned_end: 'time',
      actual_start: 'time',
      actual_end: 'time',
      status: 'text',
      qty_good: 'int',
      qty_scrap: 'int',
      paused_ms: 'int',
      paused_since: 'time',
      status_changed_at: 'time',
      created_at: 'time',
      updated_at: 'time',
    },
    fact: false,
    statusRank: { planned: 0, in_progress: 1, paused: 1, done: 2 },
    parents: [{ col: 'work_order_id', table: 'work_orders' }],
  },
  {
    name: 'stage_assignments',
    pk: ['stage_id', 'user_id'],
    cols: { stage_id: 'int', user_id: 'int', assigned_by: 'int', assigned_at: 'time' },
    fact: false,
    parents: [
      { col: 'stage_id', table: 'work_order_stages' },
      { col: 'user_id', table: 'users' },
    ],
  },
  {
    name: 'issues',
    pk: ['id'],
    cols: {
      id: 'int',
      work_order_stage_id: 'int',
      type: 'text',
      description: 'text',
      status: 'text',
      created_by: 'int',
      created_at: 'time',
      acknowledged_at: 'time',
      acknowledged_by: 'int',
      resolved_at: 'time',
      resolved_by: 'int',
      updated_at: 'time',
    },
    fact: false,
    statusRank: { open: 0, ack: 1, resolved: 2 },
    parents: [{ col: 'work_order_stage_id', table: 'work_order_stages' }],
  },
  {
    name: 'machine_readings',
    pk: ['id'],
    cols: {
      id: 'int',
      machine_id: 'int',
      reading_type: 'text',
      value: 'real',
      unit: 'text',
      quality: 'text',
      reason: 'text',
      source_ts: 'time',
      recorded_at: 'time',
    },
    fact: true,
  },
  {
    name: 'events',
    pk: ['id'],
    cols: {
      id: 'int',
      kind: 'text',
      entity_type: 'text',
      entity_id: 'int',
      work_order_id: 'int',
      from_status: 'text',
      to_status: 'text',
      occurred_at: 'time',
      recorded_at: 'time',
      actor_user_id: 'int',
      request_id: 'text',
      data: 'json',
    },
    fact: true,
  },
  // OEE (docs/oee.md): written by the gateway itself; HQ may correct a downtime's reason.
  {
    name: 'gateway_runs',
    pk: ['id'],
    cols: { id: 'int', started_at: 'time', alive_at: 'time', stopped_at: 'time' },
    fact: false,
    since: '0009_oee_sync',
  },
  {
    name: 'downtimes',
    pk: ['id'],
    cols: {
      id: 'int',
      machine_id: 'int',
      started_at: 'time',
      ended_at: 'time',
      state: 'text',
      reason_code: 'text',
      note: 'text',
      reason_by: 'int',
      reason_at: 'time',
      issue_id: 'int',
      created_at: 'time',
      updated_at: 'time',
    },
    fact: false,
    parents: [{ col: 'machine_id', table: 'machines' }],
    since: '0009_oee_sync',
  },
  {
    name: 'shift_oee',
    pk: ['id'],
    cols: {
      id: 'int',
      machine_id: 'int',
      shift: 'text',
      shift_start: 'time',
      shift_end: 'time',
      planned_ms: 'int',
      run_ms: 'int',
      unknown_ms: 'int',
      downtime_ms: 'int',
      short_stop_ms: 'int',
      good: 'int',
      scrap: 'int',
      ideal_ms: 'int',
      created_at: 'time',
      updated_at: 'time',
    },
    fact: false,
    parents: [{ col: 'machine_id', table: 'machines' }],
    since: '0009_oee_sync',
  },
  // The machine a stage runs on: one row per stage, last writer wins; clearing it is a tombstone.
  {
    name: 'stage_machines',
    pk: ['stage_id'],
    cols: { stage_id: 'int', machine_id: 'int', set_at: 'time', set_by: 'int' },
    fact: false,
    parents: [
      { col: 'stage_id', table: 'work_order_stages' },
      { col: 'machine_id', table: 'machines' },
    ],
    since: '0012_stage_machines_sync',
  },
];

/** The tombstone flag travels as one more column with its own clock. */
export const DELETED = '_deleted';

export function tableSpec(name: string): TableSpec {
  const spec = TABLES.find((t) => t.name === name);
  if (!spec) throw new Error(`not a synced table: ${name}`);
  return spec;
}

/** The key of a row as it travels ("42", or "7:9" for a composite key). */
export function keyOf(spec: TableSpec, row: Record<string, unknown>): string {
  return spec.pk.map((c) => String(row[c])).join(':');
}

/** The pk column values of a travelling key. */
export function parseKey(spec: TableSpec, key: string): Record<string, number> {
  const parts = key.split(':');
  const out: Record<string, number> = {};
  spec.pk.forEach((c, i) => {
    out[c] = Number(parts[i]);
  });
  return out;
}

/** Tables in the order their rows can be applied without breaking foreign keys. */
export const MUTABLE_TABLES = TABLES.filter((t) => !t.fact);
export const FACT_TABLES = TABLES.filter((t) => t.fact);

/**
 * The order a pulled page is written in on the edge: live rows parents first, then tombstones
 * children first, so a parent's delete finds its children's deletes done (HQ tombstones them
 * with it; the edge's foreign keys would refuse the parent's delete otherwise).
 */
export function applyOrder<V extends { values: Record<string, unknown> }>(
  rows: Map<string, Map<string, V>>,
): Array<{ spec: TableSpec; rows: Array<[string, V]> }> {
  const phase = (tombstones: boolean) =>
    MUTABLE_TABLES.map((spec) => ({ spec, rows: [...(rows.get(spec.name) ?? [])].filter(([, v]) => (v.values[DELETED] === 1) === tombstones) }));
  return [...phase(false), ...phase(true).reverse()];
}
