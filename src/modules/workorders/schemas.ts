import { z } from '@hono/zod-openapi';
import { WORK_ORDER_STATUSES } from '../../core/vocabulary.ts';
import { idNumber, idParams, pageQuery, text, timestamp } from '../../http/schemas.ts';
import { stage } from '../stages/schemas.ts';

const code = text(1, 64);

export const workOrder = z
  .object({
    id: z.number().int(),
    product_code: z.string(),
    lot_no: z.string(),
    qty: z.number().int(),
    planned_start: z.string(),
    planned_end: z.string(),
    status: z.enum(WORK_ORDER_STATUSES),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('WorkOrder');
/** A work order as the API shows it. */
export type WorkOrderView = z.input<typeof workOrder>;

export const workOrderWithStages = workOrder.extend({ stages: z.array(stage) }).openapi('WorkOrderWithStages');

const window = <T extends { planned_start?: number | undefined; planned_end?: number | undefined }>(v: T, zctx: z.RefinementCtx) => {
  if (v.planned_start !== undefined && v.planned_end !== undefined && v.planned_start >= v.planned_end) {
    zctx.addIssue({ code: 'custom', path: ['planned_end'], message: 'must be after planned_start' });
  }
};

export const createBody = (tz: string) =>
  z
    .object({
      product_code: code,
      lot_no: code,
      qty: z.number().int({ message: 'must be an integer' }).positive({ message: 'must be greater than 0' }).max(1_000_000_000),
      planned_start: timestamp(tz),
      planned_end: timestamp(tz),
      stages: z
        .array(
          z
            .object({
              stage_name: code,
              planned_start: timestamp(tz).optional(),
              planned_end: timestamp(tz).optional(),
              machine_id: idNumber.nullable().optional(),
            })
            .superRefine(window),
        )
        .min(1, { message: 'must list at least one stage, or be left out for the default template' })
        .max(50)
        .optional(),
    })
    .superRefine(window)
    .openapi('CreateWorkOrder');

export const listQuery = (tz: string) =>
  z.object({
    ...pageQuery,
    status: z.enum(WORK_ORDER_STATUSES).optional(),
    product_code: code.optional(),
    lot_no: code.optional(),
    planned_from: timestamp(tz).optional(),
    planned_to: timestamp(tz).optional(),
  });

export const woParams = idParams('wo_id');

export const workOrderMetrics = z
  .object({
    work_order_id: z.number().int(),
    stages_total: z.number().int(),
    stages_done: z.number().int(),
    stages_in_progress: z.number().int(),
    stages_paused: z.number().int(),
    progress_pct: z.number().nullable(),
    on_time_pct: z.number().nullable(),
    efficiency: z.number().nullable(),
    end_delay_s: z.number().int().nullable(),
    open_issues: z.number().int(),
    qty_good: z.number().int().nullable(),
    qty_scrap: z.number().int().nullable(),
    yield_pct: z.number().nullable(),
  })
  .openapi('WorkOrderMetrics');
/** Work-order figures from its stages (API.md's formulas). */
export type WorkOrderMetrics = z.input<typeof workOrderMetrics>;
