import { z } from '@hono/zod-openapi';
import { parseTimestampDetailed } from '../core/time.ts';

const MAX_ID = Number.MAX_SAFE_INTEGER;

// A UTF-16 surrogate without its pair: JSON can carry it, UTF-8 cannot (PostgreSQL refuses it).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Every string the API takes: well-formed Unicode (no lone surrogates) and no NUL (it truncates
 * in C tools and logs); min/max in characters.
 */
export const str = (min: number, max: number) =>
  z
    .string()
    .min(min, { message: `must be at least ${min} characters` })
    .max(max, { message: `must be at most ${max} characters` })
    .refine((s) => !LONE_SURROGATE.test(s), { message: 'must be well-formed Unicode (a lone surrogate was sent)' })
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain NUL characters' });

/** A path id: digits only, a safe integer. */
export const idString = z
  .string()
  .regex(/^\d{1,16}$/, { message: 'must be a positive integer id' })
  .transform(Number)
  .pipe(z.number().int().positive().max(MAX_ID, { message: 'must be below 2^53' }));

/** JSON integer id in a body. */
export const idNumber = z.number().int().positive().max(MAX_ID, { message: 'must be below 2^53' });

export const idParams = <K extends string>(...names: K[]) =>
  z.object(Object.fromEntries(names.map((n) => [n, idString.openapi({ param: { name: n, in: 'path' }, type: 'integer' })])) as Record<K, typeof idString>);

/** limit and cursor, shared by every list. */
export const pageQuery = {
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { message: 'must be an integer from 1 to 500' })
    .transform(Number)
    .pipe(z.number().int().min(1, { message: 'must be at least 1' }).max(500, { message: 'must be at most 500' }))
    .optional()
    .transform((v) => v ?? 50)
    .openapi({ type: 'integer', default: 50, minimum: 1, maximum: 500 }),
  cursor: str(1, 512).optional().openapi({ description: 'opaque, from meta.next_cursor' }),
};

/** ISO 8601 input: with an offset as written, without one in the plant time zone; output epoch ms. */
export const timestamp = (plantTz: string) =>
  z
    .string()
    .max(40)
    .transform((s, zctx) => {
      const parsed = parseTimestampDetailed(s, plantTz);
      if (!parsed.ok) {
        const message =
          parsed.problem === 'nonexistent'
            ? `does not exist in ${plantTz} (skipped when the clocks go forward); send it with an offset`
            : parsed.problem === 'range'
              ? 'must be before the year 10000 (UTC)'
              : 'must be an ISO 8601 date-time such as 2026-11-26T08:00:00Z';
        zctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return parsed.ms;
    })
    .openapi({ type: 'string', format: 'date-time' });

/** Free text. */
export const text = str;

export const username = z.string().regex(/^[A-Za-z0-9._-]{3,64}$/, { message: 'must be 3–64 characters of A-Z a-z 0-9 . _ -' });

export const password = str(8, 256);
