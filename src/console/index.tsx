import { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import { plantTime } from '../core/plant-time.ts';
import type { HttpEnv } from '../http/types.ts';
import { type ApiClient, type ApiFetch, apiClient } from './api.ts';
import { CSS, JS } from './assets.ts';
import { ANY_HUMAN, createFrame, sameHost } from './frame.tsx';
import { registerBoard } from './board.tsx';
import { registerLiveEvents } from './live.tsx';
import { Layout } from './layout.tsx';
import { registerMachines } from './machines.tsx';
import { DowntimeList, myMachines, recentDowntime, registerOee } from './oee.tsx';
import { LoginPage } from './pages/login.tsx';
import { STAGE_STEPS, type Stage, StepPage, WorkPage, type WorkOrder } from './pages/work.tsx';
import { createSessions } from './session.ts';
import { createStationConsole } from './station.tsx';
import { t } from './strings.ts';
import { registerSystem } from './system.tsx';
import { registerUsers } from './users.tsx';

const HOME: Record<string, string> = { worker: '/console/work', manager: '/console/board', planner: '/console/board', admin: '/console/board' };
const STAGE_ACTIONS = new Set(['start', 'pause', 'resume', 'done', 'issue']);

/** One of the caller's stages (the API lists stages by assignee; My work shows only those). */
async function myStage(api: ApiClient, id: string): Promise<Stage | undefined> {
  if (!/^\d{1,16}$/.test(id)) return undefined;
  const res = await api.get('/stages', { query: { assigned_to: 'me', limit: 500 } });
  return res.ok ? res.data.find((s) => String(s.id) === id) : undefined;
}

// An empty quantity is "not given"; anything else goes to the API as typed, so its validation speaks.
const qty = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : /^\d{1,9}$/.test(v.trim()) ? Number(v) : v);

/**
 * The floor console: server-rendered pages that do every read and action through the v1 API
 * in-process, with the signed-in user's token, so roles, state machine, idempotency and audit
 * are exactly the API's.
 */
export function createConsole(ctx: AppContext, fetchApi: ApiFetch): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const sessions = createSessions(ctx.config.trustProxy);
  const frame = createFrame(fetchApi, sessions, (token) => station.idleOf(token));
  const { page, action } = frame;
  // Station mode (docs/console.md): badge sign-in, idle sign-out, sign-out after Done.
  const station = createStationConsole(ctx, fetchApi, frame, sessions);
  app.use('/console/*', station.touch);
  station.register(app);

  app.get('/console/assets/console.css', (c) => c.body(CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }));
  app.get('/console/assets/console.js', (c) => c.body(JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));
  app.get('/', (c) => c.redirect('/console/', 302));
  app.get(
    '/console',
    page(ANY_HUMAN, async (c, { user }) => c.redirect(HOME[user.role] ?? '/console/machines', 302)),
  );

  app.get('/console/login', (c) => station.loginPage(c));
  app.post('/console/login', async (c) => {
    // No session yet, so no CSRF token: a sign-in posted from another site is refused by Origin.
    const origin = c.req.header('origin');
    if (origin !== undefined && !sameHost(origin, c.req.header('host'))) return frame.errorPage(c, 403, t.formExpired);
    const raw = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const username = typeof raw.username === 'string' ? raw.username : '';
    const password = typeof raw.password === 'string' ? raw.password : '';
    const res = await apiClient(fetchApi, c, undefined).post('/auth/login', { body: { username, password } });
    if (!res.ok) {
      const text = res.status === 429 ? t.signInThrottled(res.retryAfter ?? '60') : res.status === 401 ? t.signInFailed : `${t.apiFailed} ${res.message}`;
      return c.html(
        <LoginPage flash={{ kind: 'error', text }} username={username} station={station.station(c)?.name} />,
        res.status === 429 ? 429 : res.status >= 500 ? 503 : 401,
      );
    }
    sessions.start(c, res.data.access_token, res.data.expires_in);
    await station.bindPasswordSession(c, res.data.access_token);
    return c.redirect(HOME[res.data.user.role] ?? '/console/machines', 303);
  });
  app.post('/console/logout', async (c) => {
    const token = sessions.token(c);
    const raw = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    if (token && sessions.csrfValid(token, raw.csrf)) await apiClient(fetchApi, c, token).post('/auth/logout');
    sessions.end(c);
    return c.redirect('/console/login', 303);
  });

  app.get(
    '/console/work',
    page(['worker', 'planner', 'admin'], async (c, input) => {
      const res = await input.api.get('/stages', { query: { assigned_to: 'me', limit: 500 } });
      const stages = res.ok ? res.data.filter((s) => s.status !== 'done') : [];
      const workOrders = new Map<number, WorkOrder>();
      for (const id of new Set(stages.map((s) => s.work_order_id))) {
        const wo = await input.api.get('/workorders/{wo_id}', { params: { wo_id: id } });
        if (wo.ok) workOrders.set(id, wo.data);
      }
      const now = ctx.clock.now();
      // Paused time, for the worked time of a running or paused stage.
      const pausedS = new Map<number, number>();
      for (const s of stages.filter((x) => x.status === 'in_progress' || x.status === 'paused')) {
        const m = await input.api.get('/stages/{wos_id}/metrics', { params: { wos_id: s.id } });
        if (m.ok) pausedS.set(s.id, m.data.paused_s);
      }
      // Downtime of the machines my started stages run on, with reason pickers (docs/oee.md).
      const mine = await myMachines(input.api);
      const down = mine.size > 0 ? await recentDowntime(input.api, now) : { downtimes: [], reasons: [] };
      const names = mine.size > 0 ? await input.api.get('/machines', { query: { limit: 500 } }) : undefined;
      return c.html(
        <Layout title={t.navWork} {...input} current="/console/work" live="/console/events" now={now}>
          <WorkPage stages={stages} workOrders={workOrders} pausedS={pausedS} csrf={input.csrf} now={now} time={plantTime(ctx.config.plantTz)} />
          {mine.size > 0 && (
            <DowntimeList
              downtimes={down.downtimes.filter((d) => mine.has(d.machine_id))}
              reasons={down.reasons}
              machineNames={new Map((names?.ok ? names.data : []).map((m) => [m.id, m.name]))}
              csrf={input.csrf}
              back="/console/work"
              clock={(ms) => plantTime(ctx.config.plantTz).at(ms, now)}
              canSet={mine}
            />
          )}
        </Layout>,
      );
    }),
  );
  // A step of one of my stages on a page of its own (Done's confirmation, Pause's reason, an issue).
  app.get(
    '/console/work/:id/:step',
    page(['worker', 'planner', 'admin'], async (c, input) => {
      const id = c.req.param('id') ?? '';
      const step = STAGE_STEPS.find((x) => x === c.req.param('step'));
      const stage = step ? await myStage(input.api, id) : undefined;
      if (!step || !stage) return frame.errorPage(c, 404, t.notFound, input);
      const wo = await input.api.get('/workorders/{wo_id}', { params: { wo_id: stage.work_order_id } });
      return c.html(
        <Layout title={t.stepTitle[step](stage.stage_name)} {...input} current="/console/work">
          <StepPage stage={stage} wo={wo.ok ? wo.data : undefined} step={step} csrf={input.csrf} now={ctx.clock.now()} time={plantTime(ctx.config.plantTz)} />
        </Layout>,
      );
    }),
  );
  app.post(
    '/console/stages/:id/:action',
    action(station.backAfterDone, async (c, api, form) => {
      const verb = c.req.param('action') ?? '';
      const id = c.req.param('id') ?? '';
      if (!STAGE_ACTIONS.has(verb) || !/^\d{1,16}$/.test(id)) return { ok: false, status: 404, code: 'NOT_FOUND', message: t.notFound, retryAfter: null };
      // The form's fields go to the API as typed, so its validation speaks.
      const call = { params: { wos_id: id }, idempotencyKey: form.idem };
      const res =
        verb === 'pause'
          ? await api.post('/stages/{wos_id}/pause', { ...call, form: { reason: form.reason } })
          : verb === 'done'
            ? await api.post('/stages/{wos_id}/done', { ...call, form: { qty_good: qty(form.qty_good), qty_scrap: qty(form.qty_scrap) } })
            : verb === 'issue'
              ? await api.post('/stages/{wos_id}/issue', { ...call, form: { type: form.type, description: form.description } })
              : verb === 'start'
                ? await api.post('/stages/{wos_id}/start', { ...call, body: {} })
                : await api.post('/stages/{wos_id}/resume', { ...call, body: {} });
      if (!res.ok) return res;
      // The message names the stage, so a worker with several on screen knows which one it was
      // (a transition answers with the stage; an issue report with the issue).
      const name = 'stage_name' in res.data ? res.data.stage_name : (await myStage(api, id))?.stage_name;
      if (verb === 'done') await station.signOutAfterDone(c);
      return { ...res, okText: station.doneText(c, t.stageOk[verb]?.(name ?? `#${id}`)) };
    }),
  );

  registerBoard(app, frame, ctx);
  registerMachines(app, frame, ctx);
  registerOee(app, frame);
  registerSystem(app, frame, ctx);
  registerUsers(app, frame, station);
  registerLiveEvents(app, ctx, fetchApi, sessions);
  app.all('/console/*', (c) => frame.errorPage(c, 404, t.notFound));
  return app;
}
