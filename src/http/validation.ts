import type { z } from '@hono/zod-openapi';
import { AppError } from '../errors.ts';

/** Turns every zod issue into one `details` entry of a VALIDATION_ERROR. */
export function zodFailure(error: z.ZodError): AppError {
  const details = error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys : undefined;
    const path = [...issue.path.map(String), ...(keys && keys.length === 1 ? keys : [])].join('.');
    return { path, message: issue.message };
  });
  return new AppError('VALIDATION_ERROR', 'request validation failed', details);
}

/** zod-openapi's hook: a failed validation becomes our envelope, never its default body. */
export function validationHook(result: { success: boolean; error?: z.ZodError }): void {
  if (!result.success && result.error) throw zodFailure(result.error);
}
