import { z } from '@hono/zod-openapi';
import { STAGE_STATUSES } from '../../core/vocabulary.ts';
import { idNumber, idParams, idString, pageQuery, text, timestamp } from '../../http/schemas.ts';

export const stage = z
  .object({
    id: z.number().int(),
    work_order_id: z.number().int(),
    seq: z.number().int(),
    stage_name: z.string(),
    planned_start: z.string().nullable(),
    planned_end: z.string().nullable(),
    actual_start: z.string().nullable(),
    actual_end: z.string().nullable(),
    status: z.enum(STAGE_STATUSES),
    qty_good: z.number().int().nullable(),
    qty_scrap: z.number().int().nullable(),
    assigned_user_ids: z.array(z.number().int()),
    /** The machine the stage runs on (OEE counts its pieces there); null when none is named. */
    machine_id: z.number().int().nullable(),
  })
  .openapi('Stage');

/** A stage as the API shows it (and services hand it to routes). */
export type StageView = z.input<typeof stage>;

export const stageParams = idParams('wos_id');

export const stageMetrics = z
  .object({
    stage_id: z.number().int(),
    status: z.string(),
    planned_duration_s: z.number().int().nullable(),
    actual_duration_s: z.number().int().nullable(),
    paused_s: z.number().int(),
    start_delay_s: z.number().int().nullable(),
    end_delay_s: z.number().int().nullable(),
    efficiency: z.number().nullable(),
    on_time: z.boolean().nullable(),
  })
  .openapi('StageMetrics');
/** Stage figures exactly as API.md defines them; null where not yet defined. */
export type StageMetricsView = z.input<typeof stageMetrics>;

const qty = z.number().int({ message: 'must be an integer' }).min(0, { message: 'must be ≥ 0' }).max(1_000_000_000);

export const startBody = (tz: string) => z.object({ at: timestamp(tz).optional() }).openapi('StageAction');
export const pauseBody = (tz: string) => z.object({ reason: text(1, 500), at: timestamp(tz).optional() }).openapi('StagePause');
export const doneBody = (tz: string) => z.object({ at: timestamp(tz).optional(), qty_good: qty.optional(), qty_scrap: qty.optional() }).openapi('StageDone');

export const listQuery = z.object({
  ...pageQuery,
  status: z.enum(STAGE_STATUSES).optional(),
  work_order_id: idString.optional().openapi({ type: 'integer' }),
  assigned_to: z
    .union([z.literal('me'), idString])
    .optional()
    .openapi({ type: 'string', description: '`me` or a user id' }),
});

export const assignmentBody = z.object({ user_id: idNumber }).openapi('AssignmentRequest');
export const assignment = z
  .object({ stage_id: z.number().int(), user_id: z.number().int(), username: z.string(), assigned_at: z.string(), assigned_by: z.number().int().nullable() })
  .openapi('Assignment');
/** One user assigned to a stage, as the API shows it. */
export type AssignmentView = z.input<typeof assignment>;
export const assignmentParams = idParams('wos_id', 'user_id');
