import type { z } from '@hono/zod-openapi';

type Def = z.core.$ZodTypeDef;
const defOf = (schema: z.core.$ZodType): Def => schema._zod.def;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The paths of fields in `value` that `schema` does not declare (`data.items[3].secret`).
 *
 * zod's plain objects strip unknown keys when parsing, so a response carrying a field its schema
 * (and so /openapi.json) never promised would pass a parse. The route schemas stay as they are —
 * the app never parses its own answers — and the tests' contract check walks the value beside its
 * schema instead. An object declared loose (`.passthrough()`, a catchall) may carry anything; a
 * union is judged by the option that fits with the fewest unknown fields. Call it on a value the
 * schema has already parsed: shapes the schema refuses are the parse's to report, not this.
 */
export function unknownFields(schema: z.core.$ZodType, value: unknown, at = ''): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      if (!isRecord(value)) return [];
      const { shape, catchall } = def as z.core.$ZodObjectDef;
      return Object.entries(value).flatMap(([key, field]) => {
        const path = at ? `${at}.${key}` : key;
        const declared = shape[key] ?? catchall;
        if (declared === undefined || defOf(declared).type === 'never') return [path];
        return unknownFields(declared, field, path);
      });
    }
    case 'array':
      return Array.isArray(value) ? value.flatMap((item, i) => unknownFields((def as z.core.$ZodArrayDef).element, item, `${at}[${i}]`)) : [];
    case 'tuple': {
      const { items, rest } = def as z.core.$ZodTupleDef;
      if (!Array.isArray(value)) return [];
      return value.flatMap((item, i) => {
        const declared = items[i] ?? rest;
        return declared ? unknownFields(declared, item, `${at}[${i}]`) : [];
      });
    }
    case 'record':
      return isRecord(value)
        ? Object.entries(value).flatMap(([key, field]) => unknownFields((def as z.core.$ZodRecordDef).valueType, field, at ? `${at}.${key}` : key))
        : [];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return value === undefined || value === null ? [] : unknownFields((def as z.core.$ZodOptionalDef).innerType, value, at);
    case 'pipe':
      return unknownFields((def as z.core.$ZodPipeDef).in, value, at);
    case 'lazy':
      return unknownFields((def as z.core.$ZodLazyDef).getter(), value, at);
    case 'union': {
      const fits = (def as z.core.$ZodUnionDef).options.filter((option) => isValid(option, value));
      const verdicts = fits.map((option) => unknownFields(option, value, at));
      return verdicts.reduce<string[] | undefined>((best, v) => (best === undefined || v.length < best.length ? v : best), undefined) ?? [];
    }
    case 'intersection': {
      // A field is unknown only when neither side declares it.
      const { left, right } = def as z.core.$ZodIntersectionDef;
      const fromRight = new Set(unknownFields(right, value, at));
      return unknownFields(left, value, at).filter((path) => fromRight.has(path));
    }
    default:
      return [];
  }
}

function isValid(schema: z.core.$ZodType, value: unknown): boolean {
  const result = schema['~standard'].validate(value);
  return !(result instanceof Promise) && result.issues === undefined;
}
