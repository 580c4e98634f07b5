import type { AppContext } from '../../context.ts';
import { actorOf } from '../../http/actor.ts';
import { command } from '../../http/command.ts';
import { defineRoute, type Router } from '../../http/route.ts';
import { badge, badgeBody, badgeParams } from '../auth/badge-schemas.ts';
import { listBadges, setBadge } from '../auth/badges.ts';
import * as s from './schemas.ts';
import { createStation, listStations, revokeStation } from './service.ts';

/** Station mode (ADR 0018): admins mark and revoke stations and set badges and PINs. No route takes a PIN to sign in. */
export function registerStationRoutes(router: Router, ctx: AppContext): void {
  defineRoute(
    router,
    {
      method: 'get',
      path: '/stations',
      tag: 'stations',
      summary: 'List stations (revoked ones too)',
      access: ['admin'],
      query: s.stationsQuery,
      response: s.station,
      list: true,
    },
    (_c, { query }) => listStations(ctx, query),
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/stations',
      tag: 'stations',
      summary: 'Mark a station: returns its token once',
      access: ['admin'],
      body: s.createStationBody,
      response: s.createdStation,
      status: 201,
      // The answer carries the station's token: never stored for an idempotent replay.
      credentials: true,
    },
    (c, { body }) => command(ctx, () => createStation(ctx, actorOf(c), body.name)),
  );

  defineRoute(
    router,
    {
      method: 'post',
      path: '/stations/{station_id}/revoke',
      tag: 'stations',
      summary: 'Revoke a station: its cookie stops working and its sessions end',
      access: ['admin'],
      params: s.stationParams,
      response: s.station,
    },
    (c, { params }) => command(ctx, () => revokeStation(ctx, actorOf(c), params.station_id)),
  );

  defineRoute(
    router,
    {
      method: 'get',
      path: '/auth/badges',
      tag: 'stations',
      summary: 'List badges (never the PINs)',
      access: ['admin'],
      query: s.stationsQuery,
      response: badge,
      list: true,
    },
    (_c, { query }) => listBadges(ctx, query),
  );

  defineRoute(
    router,
    {
      method: 'put',
      path: '/auth/users/{user_id}/badge',
      tag: 'stations',
      summary: "Set or remove a user's badge and PIN",
      access: ['admin'],
      // Only workers have a badge, and a badge has one holder.
      errors: ['CONFLICT'],
      params: badgeParams,
      body: badgeBody,
      status: 204,
      credentials: true,
    },
    async (c, { params, body }) => {
      await setBadge(ctx, actorOf(c), params.user_id, body);
      return undefined;
    },
  );
}
