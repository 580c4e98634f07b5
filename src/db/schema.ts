import { sql } from 'drizzle-orm';
import { type AnySQLiteColumn, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { ISSUE_STATUSES, ISSUE_TYPES, MACHINE_SOURCES, MACHINE_STATUSES, QUALITIES, ROLES, STAGE_STATUSES, WORK_ORDER_STATUSES } from '../core/vocabulary.ts';

// Times are stored as integer milliseconds since the Unix epoch (UTC); the HTTP layer
// renders them as ISO 8601. Ids come from src/db/ids.ts (site range), never AUTOINCREMENT.
// The enum columns take their values from the core vocabulary (src/core/vocabulary.ts).

/** Id of the row in the old FastAPI database it was imported from (`gateway import-legacy`); null otherwise. */
const legacyIdColumn = () => integer('legacy_id');
/** Partial, so rows created here (legacy_id null) cost nothing; unique, so an import never runs twice. */
const legacyIndex = (table: string, column: AnySQLiteColumn) => uniqueIndex(`${table}_legacy_id`).on(column).where(sql`${column} IS NOT NULL`);

/** Key/value facts about this database (site id it was created for, ...). */
export const gatewayMeta = sqliteTable('gateway_meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Per-table local sequence; the id is site_id × 2^40 + next_local. */
export const idSequences = sqliteTable('id_sequences', {
  name: text('name').primaryKey(),
  nextLocal: integer('next_local').notNull(),
});

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey(),
    username: text('username').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [uniqueIndex('users_username_lower').on(sql`lower(${t.username})`), legacyIndex('users', t.legacyId)],
);

/** One row per issued token (its jti); revocation is a timestamp, checked on every request. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    /** The station the session was opened on (badge + PIN): it ends after the station's idle time. */
    stationId: integer('station_id'),
  },
  (t) => [index('sessions_user').on(t.userId), index('sessions_expires').on(t.expiresAt)],
);

/**
 * A browser an admin marked as a shared floor station (badge + PIN sign-in). Local to this box,
 * never synced: the token lives in that browser's cookie, only its SHA-256 is kept here.
 */
export const stations = sqliteTable(
  'stations',
  {
    id: integer('id').primaryKey(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** Who marked it; no foreign key: a user HQ deletes is deleted here too, and the station stays (migration 0010). */
    createdBy: integer('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [uniqueIndex('stations_token_hash').on(t.tokenHash)],
);

/** A user's badge number and hashed PIN for station sign-in; local to this box, never synced (ADR 0018). */
export const userBadges = sqliteTable(
  'user_badges',
  {
    userId: integer('user_id')
      .primaryKey()
      .references(() => users.id),
    badge: text('badge').notNull(),
    pinHash: text('pin_hash'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('user_badges_badge').on(t.badge)],
);

export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey(),
    at: integer('at').notNull(),
    action: text('action').notNull(),
    actorUserId: integer('actor_user_id'),
    targetUserId: integer('target_user_id'),
    targetUsername: text('target_username'),
    clientIp: text('client_ip'),
    requestId: text('request_id'),
    details: text('details', { mode: 'json' }),
  },
  (t) => [index('audit_log_at').on(t.at)],
);

/** Immutable shop-floor events (a trigger refuses UPDATE and DELETE); MQTT and sync publish these. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey(),
    kind: text('kind').notNull(),
    entityType: text('entity_type').notNull(),
    entityId: integer('entity_id').notNull(),
    workOrderId: integer('work_order_id'),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    occurredAt: integer('occurred_at').notNull(),
    recordedAt: integer('recorded_at').notNull(),
    actorUserId: integer('actor_user_id'),
    requestId: text('request_id'),
    data: text('data', { mode: 'json' }),
  },
  (t) => [index('events_entity').on(t.entityType, t.entityId, t.id)],
);

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    userId: integer('user_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    body: text('body').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_created').on(t.createdAt)],
);

export const workOrders = sqliteTable(
  'work_orders',
  {
    id: integer('id').primaryKey(),
    productCode: text('product_code').notNull(),
    lotNo: text('lot_no').notNull(),
    qty: integer('qty').notNull(),
    plannedStart: integer('planned_start').notNull(),
    plannedEnd: integer('planned_end').notNull(),
    status: text('status', { enum: WORK_ORDER_STATUSES }).notNull(),
    createdBy: integer('created_by'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [
    legacyIndex('work_orders', t.legacyId),
    index('work_orders_planned').on(t.plannedStart, t.id),
    index('work_orders_status').on(t.status, t.plannedStart, t.id),
    index('work_orders_product').on(t.productCode),
    index('work_orders_lot').on(t.lotNo),
  ],
);

export const workOrderStages = sqliteTable(
  'work_order_stages',
  {
    id: integer('id').primaryKey(),
    workOrderId: integer('work_order_id')
      .notNull()
      .references(() => workOrders.id),
    seq: integer('seq').notNull(),
    stageName: text('stage_name').notNull(),
    plannedStart: integer('planned_start'),
    plannedEnd: integer('planned_end'),
    actualStart: integer('actual_start'),
    actualEnd: integer('actual_end'),
    status: text('status', { enum: STAGE_STATUSES }).notNull(),
    qtyGood: integer('qty_good'),
    qtyScrap: integer('qty_scrap'),
    pausedMs: integer('paused_ms').notNull().default(0),
    pausedSince: integer('paused_since'),
    /** When the last transition happened (its `at`); a later action may not predate it. */
    statusChangedAt: integer('status_changed_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [uniqueIndex('stages_wo_seq').on(t.workOrderId, t.seq), index('stages_status').on(t.status), legacyIndex('work_order_stages', t.legacyId)],
);

export const stageAssignments = sqliteTable(
  'stage_assignments',
  {
    stageId: integer('stage_id')
      .notNull()
      .references(() => workOrderStages.id),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id),
    assignedBy: integer('assigned_by'),
    assignedAt: integer('assigned_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.stageId, t.userId] }), index('assignments_user').on(t.userId, t.stageId)],
);

export const issues = sqliteTable(
  'issues',
  {
    id: integer('id').primaryKey(),
    workOrderStageId: integer('work_order_stage_id')
      .notNull()
      .references(() => workOrderStages.id),
    type: text('type', { enum: ISSUE_TYPES }).notNull(),
    description: text('description').notNull(),
    status: text('status', { enum: ISSUE_STATUSES }).notNull(),
    createdBy: integer('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    acknowledgedAt: integer('acknowledged_at'),
    acknowledgedBy: integer('acknowledged_by'),
    resolvedAt: integer('resolved_at'),
    resolvedBy: integer('resolved_by'),
    updatedAt: integer('updated_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [index('issues_stage').on(t.workOrderStageId), index('issues_status').on(t.status, t.id), legacyIndex('issues', t.legacyId)],
);

export const machines = sqliteTable(
  'machines',
  {
    id: integer('id').primaryKey(),
    name: text('name').notNull().unique(),
    machineType: text('machine_type').notNull(),
    location: text('location'),
    status: text('status', { enum: MACHINE_STATUSES }).notNull(),
    source: text('source', { enum: MACHINE_SOURCES }).notNull(),
    lastSeenAt: integer('last_seen_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [legacyIndex('machines', t.legacyId)],
);

/** Append-only readings; written in batches by the readings writer. */
export const machineReadings = sqliteTable(
  'machine_readings',
  {
    id: integer('id').primaryKey(),
    machineId: integer('machine_id').notNull(),
    readingType: text('reading_type').notNull(),
    /** Null when the quality is bad and no value could be read. */
    value: real('value'),
    unit: text('unit'),
    quality: text('quality', { enum: QUALITIES }).notNull(),
    reason: text('reason'),
    sourceTs: integer('source_ts').notNull(),
    recordedAt: integer('recorded_at').notNull(),
    legacyId: legacyIdColumn(),
  },
  (t) => [index('readings_machine_ts').on(t.machineId, t.sourceTs), index('readings_recorded').on(t.recordedAt), legacyIndex('machine_readings', t.legacyId)],
);

/** Latest value per (machine, reading type), kept by the writer in the same transaction. */
export const machineLatest = sqliteTable(
  'machine_latest',
  {
    machineId: integer('machine_id').notNull(),
    readingType: text('reading_type').notNull(),
    /** Null when the quality is bad and no value could be read. */
    value: real('value'),
    unit: text('unit'),
    quality: text('quality', { enum: QUALITIES }).notNull(),
    sourceTs: integer('source_ts').notNull(),
  },
  (t) => [primaryKey({ columns: [t.machineId, t.readingType] })],
);

/** One row per gateway process: when it started and when it was last known alive (docs/oee.md). */
export const gatewayRuns = sqliteTable('gateway_runs', {
  id: integer('id').primaryKey(),
  startedAt: integer('started_at').notNull(),
  /** Moved forward every minute while running, and at a clean stop: the gap to the next run is `unknown`. */
  aliveAt: integer('alive_at').notNull(),
  stoppedAt: integer('stopped_at'),
});

/** A stop of a machine longer than the downtime threshold inside planned time, with its reason. */
export const downtimes = sqliteTable(
  'downtimes',
  {
    id: integer('id').primaryKey(),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id),
    startedAt: integer('started_at').notNull(),
    /** Null while the machine is still stopped. */
    endedAt: integer('ended_at'),
    /** The state the stop began with (idle, down, offline, maintenance). */
    state: text('state', { enum: MACHINE_STATUSES }).notNull(),
    /** A leaf code of the configured reason tree; null until someone picks one. */
    reasonCode: text('reason_code'),
    note: text('note'),
    reasonBy: integer('reason_by'),
    reasonAt: integer('reason_at'),
    /** The issue opened for it when `oee.downtime.open_issue_after_s` is set. */
    issueId: integer('issue_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('downtimes_machine_start').on(t.machineId, t.startedAt), index('downtimes_started').on(t.startedAt, t.id)],
);

/** The machine a stage runs on (OEE counts its completed quantities on that machine). */
export const stageMachines = sqliteTable(
  'stage_machines',
  {
    stageId: integer('stage_id')
      .primaryKey()
      .references(() => workOrderStages.id, { onDelete: 'cascade' }),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id, { onDelete: 'cascade' }),
    setAt: integer('set_at').notNull(),
    setBy: integer('set_by'),
  },
  (t) => [index('stage_machines_machine').on(t.machineId)],
);

/**
 * OEE inputs of one machine over one ended shift, written by the gateway when the shift is over and
 * kept current for a day after (late completions, reasons given later); synced, so HQ can add up
 * OEE across sites (docs/oee.md, HQ).
 */
export const shiftOee = sqliteTable(
  'shift_oee',
  {
    id: integer('id').primaryKey(),
    machineId: integer('machine_id')
      .notNull()
      .references(() => machines.id),
    /** `<plant-local start date>/<shift name>`. */
    shift: text('shift').notNull(),
    shiftStart: integer('shift_start').notNull(),
    shiftEnd: integer('shift_end').notNull(),
    plannedMs: integer('planned_ms').notNull(),
    runMs: integer('run_ms').notNull(),
    unknownMs: integer('unknown_ms').notNull(),
    /** Planned time in downtime records (breakdowns, setups, not yet explained). */
    downtimeMs: integer('downtime_ms').notNull(),
    shortStopMs: integer('short_stop_ms').notNull(),
    good: integer('good').notNull(),
    scrap: integer('scrap').notNull(),
    /** Σ ideal cycle × pieces; null when a piece had no ideal cycle time. */
    idealMs: integer('ideal_ms'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('shift_oee_machine_shift').on(t.machineId, t.shift), index('shift_oee_start').on(t.shiftStart)],
);
