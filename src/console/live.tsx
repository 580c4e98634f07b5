import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { plantTime } from '../core/plant-time.ts';
import { type ApiFetch, apiClient } from './api.ts';
import { createReadingsFeed, type FeedRow } from './readings-feed.tsx';
import type { Sessions } from './session.ts';

/** A page gets at most one `readings` message per this interval: the newest value per row wins. */
export const READINGS_MIN_INTERVAL_MS = 250;
// The HTTP server destroys a socket silent for 30 s (server.timeout): a comment keeps the stream up.
// The same tick re-checks the session, so a revoked one is sent to sign-in without a user action.
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events for open pages: `refresh` when the event bus reports a shop-floor change
 * (stages, issues, assignments, machine status), `readings` with the re-rendered value rows when
 * the readings writer commits a batch (machine pages: `?machines=all` or `?machines=<id>`),
 * `signedout` when the API no longer accepts the session's token.
 */
export function registerLiveEvents(app: Hono<HttpEnv>, ctx: AppContext, fetchApi: ApiFetch, sessions: Sessions): void {
  const feed = createReadingsFeed(ctx.bus, () => ctx.clock.now(), plantTime(ctx.config.plantTz), ctx.readingTypes);
  app.get('/console/events', (c) => {
    const token = sessions.token(c);
    const scope = c.req.query('machines');
    const onlyMachine = scope && /^\d{1,16}$/.test(scope) ? Number(scope) : undefined;
    return streamSSE(c, async (stream) => {
      const api = apiClient(fetchApi, c, token);
      const open = () => !stream.aborted && !stream.closed;
      // Nothing is subscribed before the session is known good: no event reaches a signed-out page.
      // A device account has no console (docs/console.md): refused like any other non-200.
      const session = async () => {
        const me = await api.get('/auth/me');
        return me.ok && me.data.role === 'machine' ? 403 : me.status;
      };
      const first = await session();
      if (first === 401) await stream.writeSSE({ event: 'signedout', data: '1' });
      // Any other refusal ends the stream; the browser's EventSource reconnects by itself.
      if (first !== 200) return;
      let refreshPending = false;
      const unsubscribeEvents = ctx.bus.subscribe(() => {
        // Coalesce a burst of events into one refresh per tick.
        if (refreshPending) return;
        refreshPending = true;
        setImmediate(() => {
          refreshPending = false;
          if (open()) void stream.writeSSE({ event: 'refresh', data: '1' }).catch(() => {});
        });
      });

      // Rows waiting to be sent, newest per machine and reading type; sent at once when the last
      // message is older than the interval, else at the end of it.
      const rows = new Map<string, string>();
      let lastSent = 0;
      let timer: NodeJS.Timeout | undefined;
      const sendRows = () => {
        timer = undefined;
        if (rows.size === 0 || !open()) return;
        const html = [...rows.values()].join('');
        rows.clear();
        lastSent = performance.now();
        void stream.writeSSE({ event: 'readings', data: html }).catch(() => {});
      };
      const onRows = (batch: FeedRow[]) => {
        for (const row of batch) if (onlyMachine === undefined || row.machineId === onlyMachine) rows.set(row.key, row.html);
        if (rows.size === 0 || timer) return;
        const wait = READINGS_MIN_INTERVAL_MS - (performance.now() - lastSent);
        if (wait <= 0) sendRows();
        else timer = setTimeout(sendRows, wait);
      };
      const unsubscribeReadings = scope ? feed.subscribe(onRows) : () => {};
      const stop = () => {
        unsubscribeEvents();
        unsubscribeReadings();
        if (timer) clearTimeout(timer);
      };
      stream.onAbort(stop);
      try {
        while (open()) {
          if (performance.now() - lastSent >= HEARTBEAT_MS) await stream.write(': ping\n\n');
          await stream.sleep(HEARTBEAT_MS);
          if (open() && (await session()) === 401) {
            await stream.writeSSE({ event: 'signedout', data: '1' });
            break;
          }
        }
      } finally {
        stop();
      }
    });
  });
}
