import { z } from '@hono/zod-openapi';
import { idParams, pageQuery, str } from '../../http/schemas.ts';

/** A station as the API shows it (never its token or the token's hash). */
export const station = z
  .object({
    id: z.number().int(),
    name: z.string(),
    created_by: z.number().int(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('Station');
export type StationView = z.input<typeof station>;

/** The answer to marking a station: the token is shown once and goes into the station's cookie. */
export const createdStation = z
  .object({ station, token: z.string().openapi({ description: 'shown once; the console puts it in the gw_station cookie' }) })
  .openapi('CreatedStation');
export type CreatedStation = z.input<typeof createdStation>;

export const createStationBody = z
  .object({ name: str(1, 64) })
  .strict()
  .openapi('CreateStationRequest');
export const stationParams = idParams('station_id');
export const stationsQuery = z.object(pageQuery);
