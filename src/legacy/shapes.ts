import { toPlantTime } from './time.ts';

/**
 * What one resource looks like on the legacy listener: the keys the old FastAPI backend returned
 * (which the old app may read), then the fields the gateway has since gained. Only listed keys
 * are copied, so a field core adds to v1 later does not leak into the old API unannounced.
 */
export interface ObjectShape {
  old: readonly string[];
  extra: readonly string[];
  /** Keys holding a v1 timestamp, rendered as naive plant-local time. */
  times?: readonly string[];
  /** Keys holding a nested resource or an array of them. */
  nested?: Readonly<Record<string, ObjectShape>>;
}

/** `as-is`: a body the old backend never had (metrics), passed on without reshaping. */
export type Shape = ObjectShape | 'as-is';

export const userShape: ObjectShape = { old: ['id', 'username', 'role'], extra: ['active', 'created_at'], times: ['created_at'] };

export const loginShape: ObjectShape = { old: ['access_token', 'token_type'], extra: ['expires_in', 'user'], nested: { user: userShape } };

const WINDOW = ['planned_start', 'planned_end'] as const;

export const stageShape: ObjectShape = {
  old: ['id', 'work_order_id', 'stage_name', ...WINDOW, 'actual_start', 'actual_end', 'status'],
  extra: ['seq', 'qty_good', 'qty_scrap', 'assigned_user_ids'],
  times: [...WINDOW, 'actual_start', 'actual_end'],
};

export const workOrderShape: ObjectShape = {
  old: ['id', 'product_code', 'lot_no', 'qty', ...WINDOW],
  extra: ['status', 'created_at', 'updated_at'],
  times: [...WINDOW, 'created_at', 'updated_at'],
};

/** POST /workorders answers with the stages it created. */
export const createdWorkOrderShape: ObjectShape = { ...workOrderShape, extra: [...workOrderShape.extra, 'stages'], nested: { stages: stageShape } };

const historyShape: ObjectShape = { old: [], extra: ['status', 'at', 'by', 'note'], times: ['at'] };

export const issueShape: ObjectShape = {
  old: ['id', 'work_order_stage_id', 'type', 'description', 'created_by', 'created_at'],
  extra: ['status', 'acknowledged_at', 'acknowledged_by', 'resolved_at', 'resolved_by', 'history'],
  times: ['created_at', 'acknowledged_at', 'resolved_at'],
  nested: { history: historyShape },
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reshapes v1 `data` (one resource or an array of them) into the legacy form. */
export function project(value: unknown, shape: Shape, format: (ms: number) => string): unknown {
  if (shape === 'as-is') return value;
  if (Array.isArray(value)) return value.map((item) => project(item, shape, format));
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of [...shape.old, ...shape.extra]) {
    if (!(key in value)) continue;
    const nested = shape.nested?.[key];
    if (nested) out[key] = project(value[key], nested, format);
    else if (shape.times?.includes(key)) out[key] = toPlantTime(value[key], format);
    else out[key] = value[key];
  }
  return out;
}
