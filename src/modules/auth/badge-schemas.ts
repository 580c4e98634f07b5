import { z } from '@hono/zod-openapi';
import { idParams } from '../../http/schemas.ts';

/** What a badge reader types: letters and digits, 1–32 (most readers send the card number). */
export const badgeNumber = z.string().regex(/^[A-Za-z0-9]{1,32}$/, { message: 'must be 1–32 letters or digits' });
/** A PIN of 4–8 digits: typed with gloves, and only ever accepted on a station. */
export const pin = z.string().regex(/^\d{4,8}$/, { message: 'must be 4–8 digits' });

export const badgeBody = z
  .object({
    badge: badgeNumber.nullable().openapi({ description: 'null removes the badge and the PIN' }),
    pin: pin.optional().openapi({ description: 'required when the user has no PIN yet; omitted keeps the PIN' }),
  })
  .strict()
  .openapi('BadgeRequest');

export const badge = z.object({ user_id: z.number().int(), badge: z.string(), pin_set: z.boolean(), updated_at: z.string() }).openapi('Badge');
export type BadgeView = z.input<typeof badge>;
export const badgeParams = idParams('user_id');
