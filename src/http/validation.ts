import type { z } from '@hono/zod-openapi';
import { AppError } from '../errors.ts';

type Issue = z.ZodError['issues'][number];
type Detail = { path: string; message: string };

/** A union branch that failed only because the value is another type (an object where it takes a list). */
const wrongShape = (branch: Issue[]) => branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0;

/**
 * One issue as `details` entries. A union (a reading or a list of readings) names the fields of
 * the branch whose shape the value has, not zod's bare "Invalid input" for the whole body.
 */
function detailsOf(issue: Issue, prefix: PropertyKey[]): Detail[] {
  const at = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branches = (issue as { errors?: Issue[][] }).errors ?? [];
    const fitting = branches.filter((b) => !wrongShape(b));
    if (fitting.length === 1) return (fitting[0] ?? []).flatMap((i) => detailsOf(i, at));
    if (fitting.length === 0 && branches.length > 0) {
      const expected = branches.map((b) => (b[0] as { expected?: string } | undefined)?.expected).filter(Boolean);
      return [{ path: at.map(String).join('.'), message: `Invalid input: expected ${expected.join(' or ')}` }];
    }
  }
  const keys = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys : undefined;
  return [{ path: [...at.map(String), ...(keys && keys.length === 1 ? keys : [])].join('.'), message: issue.message }];
}

/** Turns every zod issue into `details` entries of a VALIDATION_ERROR. */
export function zodFailure(error: z.ZodError): AppError {
  return new AppError(
    'VALIDATION_ERROR',
    'request validation failed',
    error.issues.flatMap((issue) => detailsOf(issue, [])),
  );
}

/** zod-openapi's hook: a failed validation becomes our envelope, never its default body. */
export function validationHook(result: { success: boolean; error?: z.ZodError }): void {
  if (!result.success && result.error) throw zodFailure(result.error);
}
