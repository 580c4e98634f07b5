// The words every layer shares: the database's enum columns, the API's enums, the drivers' values
// and the console's pickers all come from these lists. Imports nothing, so anything may import it.

/** Who a user is (API.md, Roles); `machine` is a device account that posts readings. */
export const ROLES = ['admin', 'planner', 'manager', 'worker', 'machine'] as const;
export type Role = (typeof ROLES)[number];

/** Where a stage is in its state machine (docs/api.md, stage transitions). */
export const STAGE_STATUSES = ['planned', 'in_progress', 'paused', 'done'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];

/** A work order's status, derived from its stages. */
export const WORK_ORDER_STATUSES = ['planned', 'in_progress', 'done'] as const;
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number];

/** What kind of problem an issue reports (the API, the legacy listener and the console's picker). */
export const ISSUE_TYPES = ['machine_breakdown', 'material_shortage', 'quality', 'tooling', 'safety', 'other'] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

/** An issue's life: open → ack → resolved. */
export const ISSUE_STATUSES = ['open', 'ack', 'resolved'] as const;
export type IssueStatus = (typeof ISSUE_STATUSES)[number];

/** Quality of a value; the readings table, the API and every driver use this one list. */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;
export type Quality = (typeof QUALITIES)[number];

/** What a machine is doing; status maps in device files and `machines.status` use this one list. */
export const MACHINE_STATUSES = ['running', 'idle', 'down', 'maintenance', 'offline'] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

/**
 * What feeds a machine: `http` (it posts itself) or the driver of a configured device. Every
 * protocol in drivers/protocols.ts declares one of these (a compile error otherwise), and
 * test/drivers-registry.test.ts checks that each driver source here has a protocol.
 */
export const MACHINE_SOURCES = ['http', 'modbus', 'opcua', 'mqtt', 'sparkplug'] as const;
export type MachineSource = (typeof MACHINE_SOURCES)[number];
