import { z } from '@hono/zod-openapi';
import { ISSUE_STATUSES, ISSUE_TYPES } from '../../core/vocabulary.ts';
import { idParams, idString, pageQuery, text } from '../../http/schemas.ts';

export const issue = z
  .object({
    id: z.number().int(),
    work_order_stage_id: z.number().int(),
    type: z.enum(ISSUE_TYPES),
    description: z.string(),
    status: z.enum(ISSUE_STATUSES),
    created_by: z.number().int(),
    created_at: z.string(),
    acknowledged_at: z.string().nullable(),
    acknowledged_by: z.number().int().nullable(),
    resolved_at: z.string().nullable(),
    resolved_by: z.number().int().nullable(),
    history: z.array(z.object({ status: z.enum(ISSUE_STATUSES), at: z.string(), by: z.number().int().nullable(), note: z.string().nullable() })),
  })
  .openapi('Issue');
/** An issue with its history, as the API shows it. */
export type IssueView = z.input<typeof issue>;

export const reportBody = z.object({ type: z.enum(ISSUE_TYPES), description: text(1, 2000) }).openapi('ReportIssue');
export const updateBody = z
  .object({ status: z.enum(['ack', 'resolved']), note: text(1, 2000).optional() })
  .strict()
  .openapi('UpdateIssue');
export const stageIssueParams = idParams('wos_id', 'issue_id');
export const issueParams = idParams('issue_id');
export const listQuery = z.object({
  ...pageQuery,
  status: z.enum(ISSUE_STATUSES).optional(),
  type: z.enum(ISSUE_TYPES).optional(),
  work_order_stage_id: idString.optional().openapi({ type: 'integer' }),
  work_order_id: idString.optional().openapi({ type: 'integer' }),
});
