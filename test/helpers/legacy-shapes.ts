import { expect } from 'vitest';
import { z } from 'zod';

/**
 * The old FastAPI backend's response shapes, written down as strict zod schemas: every key the
 * old app reads must be there with its JSON type, and the only other keys allowed are the
 * fields the gateway has since gained (listed apart, with their types).
 */

/** Python's `datetime.isoformat()` of a naive datetime: no offset, microseconds only when set. */
export const naiveTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/, 'naive ISO 8601 without offset');
const id = z.number().int().positive();
const maybeTime = naiveTime.nullable();

const OLD = {
  user: { id, username: z.string(), role: z.string() },
  login: { access_token: z.string().min(1), token_type: z.literal('bearer') },
  workOrder: { id, product_code: z.string(), lot_no: z.string(), qty: z.number().int(), planned_start: naiveTime, planned_end: naiveTime },
  stage: {
    id,
    work_order_id: id,
    stage_name: z.string(),
    planned_start: maybeTime,
    planned_end: maybeTime,
    actual_start: maybeTime,
    actual_end: maybeTime,
    status: z.string(),
  },
  issue: { id, work_order_stage_id: id, type: z.string(), description: z.string(), created_by: id, created_at: naiveTime },
};

const EXTRA = {
  user: { active: z.boolean(), created_at: naiveTime },
  workOrder: { status: z.string(), created_at: naiveTime, updated_at: naiveTime },
  stage: { seq: z.number().int(), qty_good: z.number().int().nullable(), qty_scrap: z.number().int().nullable(), assigned_user_ids: z.array(id) },
  issue: {
    status: z.string(),
    acknowledged_at: maybeTime,
    acknowledged_by: id.nullable(),
    resolved_at: maybeTime,
    resolved_by: id.nullable(),
    history: z.array(z.strictObject({ status: z.string(), at: naiveTime, by: id.nullable(), note: z.string().nullable() })),
  },
};

export const legacyUser = z.strictObject({ ...OLD.user, ...EXTRA.user });
export const legacyLogin = z.strictObject({ ...OLD.login, expires_in: z.number().int(), user: legacyUser });
export const legacyWorkOrder = z.strictObject({ ...OLD.workOrder, ...EXTRA.workOrder });
export const legacyStage = z.strictObject({ ...OLD.stage, ...EXTRA.stage });
export const legacyCreatedWorkOrder = legacyWorkOrder.extend({ stages: z.array(legacyStage) });
export const legacyIssue = z.strictObject({ ...OLD.issue, ...EXTRA.issue });

/** FastAPI's HTTPException body. */
export const detailError = z.strictObject({ detail: z.string().min(1) });
/** FastAPI's RequestValidationError body. */
export const validationError = z.strictObject({
  detail: z.array(z.strictObject({ loc: z.array(z.union([z.string(), z.number()])).min(1), msg: z.string().min(1), type: z.string().min(1) })).min(1),
});

/** Asserts a body matches a legacy shape exactly, naming the failing keys when it does not. */
export function expectShape<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) expect.fail(`${JSON.stringify(body)}\n${z.prettifyError(result.error)}`);
  return result.data;
}
