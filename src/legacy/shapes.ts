import type { ApiData, ApiItem } from '../client/types.ts';
import { toPlantTime } from './time.ts';

type Keys<T> = keyof T & string;
/** Keys whose value is a timestamp string (or null): only those can be rendered as plant time. */
type TimeKeys<T> = { [K in Keys<T>]: NonNullable<T[K]> extends string ? K : never }[Keys<T>];
/** Keys holding a nested resource or an array of them. */
type NestedKeys<T> = { [K in Keys<T>]: NonNullable<T[K]> extends object ? K : never }[Keys<T>];
type Item<T> = T extends ReadonlyArray<infer I> ? I : T;

/**
 * What one resource looks like on the legacy listener: the keys the old FastAPI backend returned
 * (which the old app may read), then the fields the gateway has since gained. Only listed keys
 * are copied, so a field core adds to v1 later does not leak into the old API unannounced.
 * `T` is the v1 route's answer (from the typed client's route table): a key v1 does not send, a
 * time key that is not a string, or a nested shape of another resource does not compile.
 */
export interface ObjectShape<T> {
  old: readonly Keys<T>[];
  extra: readonly Keys<T>[];
  /** Keys holding a v1 timestamp, rendered as naive plant-local time. */
  times?: readonly TimeKeys<T>[];
  /** Keys holding a nested resource or an array of them. */
  nested?: { readonly [K in NestedKeys<T>]?: ObjectShape<Item<NonNullable<T[K]>>> };
}

/** A shape as `project` walks it, whatever resource it describes. */
interface AnyShape {
  old: readonly string[];
  extra: readonly string[];
  times?: readonly string[] | undefined;
  nested?: Readonly<Record<string, AnyShape | undefined>> | undefined;
}

/** `as-is`: a body the old backend never had (metrics), passed on without reshaping. */
export type Shape = AnyShape | 'as-is';

type User = ApiItem<'GET /auth/users'>;
type Stage = ApiItem<'GET /workorders/{wo_id}/stages'>;
type WorkOrder = ApiData<'GET /workorders/{wo_id}'>;
type Issue = ApiItem<'GET /issues'>;

export const userShape: ObjectShape<User> = { old: ['id', 'username', 'role'], extra: ['active', 'created_at'], times: ['created_at'] };

export const loginShape: ObjectShape<ApiData<'POST /auth/login'>> = {
  old: ['access_token', 'token_type'],
  extra: ['expires_in', 'user'],
  nested: { user: userShape },
};

const WINDOW = ['planned_start', 'planned_end'] as const;

export const stageShape: ObjectShape<Stage> = {
  old: ['id', 'work_order_id', 'stage_name', ...WINDOW, 'actual_start', 'actual_end', 'status'],
  extra: ['seq', 'qty_good', 'qty_scrap', 'assigned_user_ids'],
  times: [...WINDOW, 'actual_start', 'actual_end'],
};

export const workOrderShape: ObjectShape<WorkOrder> = {
  old: ['id', 'product_code', 'lot_no', 'qty', ...WINDOW],
  extra: ['status', 'created_at', 'updated_at'],
  times: [...WINDOW, 'created_at', 'updated_at'],
};

/** POST /workorders answers with the stages it created. */
export const createdWorkOrderShape: ObjectShape<ApiData<'POST /workorders'>> = {
  ...workOrderShape,
  extra: [...workOrderShape.extra, 'stages'],
  nested: { stages: stageShape },
};

const historyShape: ObjectShape<Issue['history'][number]> = { old: [], extra: ['status', 'at', 'by', 'note'], times: ['at'] };

export const issueShape: ObjectShape<Issue> = {
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
