import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { type ApiFetch, apiClient } from './api.ts';
import { type Machine, MachineList } from './machines.tsx';
import type { Sessions } from './session.ts';

/** How often an open machines page re-reads GET /machines (the readings writer publishes no event). */
export const MACHINE_POLL_MS = 2000;
// The HTTP server destroys a socket silent for 30 s (server.timeout): a comment keeps the stream up.
const HEARTBEAT_MS = 15_000;

/**
 * Server-Sent Events for open pages: `refresh` when the event bus reports a shop-floor change
 * (stages, issues, assignments), `machines` with the re-rendered machine cards when a value
 * changed, `signedout` when the API no longer accepts the session's token.
 */
export function registerLiveEvents(app: Hono<HttpEnv>, ctx: AppContext, fetchApi: ApiFetch, sessions: Sessions): void {
  app.get('/console/events', (c) => {
    const token = sessions.token(c);
    const wantMachines = c.req.query('machines') === '1';
    return streamSSE(c, async (stream) => {
      const api = apiClient(fetchApi, c, token);
      let pending = false;
      const unsubscribe = ctx.bus.subscribe(() => {
        // Coalesce a burst of events into one refresh per tick.
        if (pending) return;
        pending = true;
        setImmediate(() => {
          pending = false;
          if (!stream.aborted && !stream.closed) void stream.writeSSE({ event: 'refresh', data: '1' }).catch(() => {});
        });
      });
      stream.onAbort(unsubscribe);
      let last = '';
      let lastWrite = Date.now();
      try {
        while (!stream.aborted && !stream.closed) {
          const res = wantMachines ? await api.call<Machine[]>('GET', '/machines?limit=500') : await api.call('GET', '/auth/me');
          if (!res.ok && res.status === 401) {
            await stream.writeSSE({ event: 'signedout', data: '1' });
            break;
          }
          if (wantMachines && res.ok) {
            const html = String(await (<MachineList machines={res.data as Machine[]} now={ctx.clock.now()} />).toString());
            if (html !== last) {
              if (last !== '') {
                await stream.writeSSE({ event: 'machines', data: html.replace(/\n/g, ' ') });
                lastWrite = Date.now();
              }
              last = html;
            }
          }
          if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            await stream.write(': ping\n\n');
            lastWrite = Date.now();
          }
          await stream.sleep(wantMachines ? MACHINE_POLL_MS : HEARTBEAT_MS);
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
