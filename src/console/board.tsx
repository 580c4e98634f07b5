import type { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { type PlantTime, plantTime } from '../core/plant-time.ts';
import { parseTimestamp } from '../core/time.ts';
import type { ApiData, ApiItem, ApiQuery } from '../client/types.ts';
import type { Frame } from './frame.tsx';
import { FormGuard, Layout, StatusBadge } from './layout.tsx';
import { duration, type Stage, type WorkOrder } from './pages/work.tsx';
import { currentShiftOee, OeeTiles } from './oee.tsx';
import { t } from './strings.ts';

type WoMetrics = ApiData<'GET /workorders/{wo_id}/metrics'>;
type StageMetrics = ApiData<'GET /stages/{wos_id}/metrics'>;
type Issue = ApiItem<'GET /issues'>;
/** An active worker, for names on the board and the assignment select. */
type Worker = ApiItem<'GET /auth/workers'>;
interface BoardRow {
  wo: WorkOrder;
  metrics: WoMetrics | undefined;
  stages: { stage: Stage; metrics: StageMetrics | undefined }[];
  late: boolean;
}

const minutes = (s: number) => `${s > 0 ? '+' : ''}${Math.round(s / 60)} min`;

/** A user's name where the board knows it (active workers), else `#id`. */
const nameOf = (workers: Worker[], id: number) => workers.find((w) => w.id === id)?.username ?? `#${id}`;

function IssueRow(props: { issue: Issue; csrf: string; where: string | undefined; reporter: string; now: number; time: PlantTime }) {
  const { issue } = props;
  // Acknowledging comes first and is the primary action on an open issue, so it is not skipped;
  // once acknowledged, Resolve is.
  const next = issue.status === 'open' ? ['ack', 'resolved'] : ['resolved'];
  const created = Date.parse(issue.created_at);
  return (
    <tr data-issue={issue.id}>
      <td data-label={t.stage}>{props.where ?? `#${issue.work_order_stage_id}`}</td>
      <td data-label={t.issueType}>{issue.type.replace('_', ' ')}</td>
      <td data-label={t.problem}>{issue.description}</td>
      <td data-label={t.reported} data-reported>
        {t.reportedBy(props.reporter, duration((props.now - created) / 1000))}
        <br />
        <span class="muted">{props.time.at(created, props.now)}</span>
      </td>
      <td data-label={t.status}>
        <StatusBadge status={issue.status} />
      </td>
      <td>
        <div class="actions">
          {next.map((status, i) => (
            <form method="post" action={`/console/issues/${issue.work_order_stage_id}/${issue.id}`}>
              <FormGuard csrf={props.csrf} />
              <input type="hidden" name="status" value={status} />
              <button type="submit" class={i === 0 ? undefined : 'secondary'}>
                {status === 'ack' ? t.acknowledge : t.resolve}
              </button>
            </form>
          ))}
        </div>
      </td>
    </tr>
  );
}

/** "Welding [in progress] · Delay: +5 min · Assigned: wanda": parts without a value are left out. */
function StageLine(props: { stage: Stage; metrics: StageMetrics | undefined; workers: Worker[] }) {
  const { stage, metrics } = props;
  const delay = metrics?.end_delay_s ?? metrics?.start_delay_s ?? null;
  const parts: string[] = [];
  if (delay !== null) parts.push(`${t.delay}: ${minutes(delay)}`);
  if (stage.assigned_user_ids.length > 0) parts.push(`${t.assigned}: ${stage.assigned_user_ids.map((id) => nameOf(props.workers, id)).join(', ')}`);
  return (
    <>
      {stage.stage_name} <StatusBadge status={stage.status} />
      {parts.length > 0 && ` · ${parts.join(' · ')}`}
    </>
  );
}

function AssignForm(props: { stage: Stage; csrf: string; workers: Worker[] }) {
  const id = `assign-${props.stage.id}`;
  const free = props.workers.filter((u) => !props.stage.assigned_user_ids.includes(u.id));
  if (free.length === 0) return <p class="muted">{t.noWorkersToAssign}</p>;
  return (
    <form method="post" action={`/console/assign/${props.stage.id}`} class="actions">
      <FormGuard csrf={props.csrf} />
      <div>
        <label for={id}>{t.assignWorker}</label>
        <select id={id} name="user_id" required>
          {free.map((u) => (
            <option value={String(u.id)}>{u.username}</option>
          ))}
        </select>
      </div>
      <button type="submit" class="secondary">
        {t.assign}
      </button>
    </form>
  );
}

/** Supervisor board: work orders planned today or late, with progress and delays; open issues. */
export function registerBoard(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  app.get(
    '/console/board',
    frame.page(['manager', 'planner', 'admin'], async (c, input) => {
      const { api, user, csrf } = input;
      const now = ctx.clock.now();
      const time = plantTime(ctx.config.plantTz);
      // "Today" is the plant's day, from its midnight in PLANT_TZ.
      const today = time.day(now);
      const midnight = new Date(parseTimestamp(`${today}T00:00:00`, time.zone) ?? now).toISOString();
      const found = new Map<number, WorkOrder>();
      const queries: ApiQuery<'GET /workorders'>[] = [{ status: 'in_progress' }, { status: 'planned' }, { planned_from: midnight }];
      for (const q of queries) {
        const res = await api.get('/workorders', { query: { ...q, limit: 100 } });
        if (res.ok) for (const wo of res.data) found.set(wo.id, wo);
      }
      const rows: BoardRow[] = [];
      for (const wo of found.values()) {
        const late = wo.status !== 'done' && Date.parse(wo.planned_end) < now;
        const isToday = time.day(Date.parse(wo.planned_start)) === today || time.day(Date.parse(wo.planned_end)) === today;
        if (!late && !isToday && wo.status !== 'in_progress') continue;
        const metrics = await api.get('/workorders/{wo_id}/metrics', { params: { wo_id: wo.id } });
        const stages = await api.get('/workorders/{wo_id}/stages', { params: { wo_id: wo.id } });
        const withMetrics = [];
        for (const stage of stages.ok ? stages.data : []) {
          const m = await api.get('/stages/{wos_id}/metrics', { params: { wos_id: stage.id } });
          withMetrics.push({ stage, metrics: m.ok ? m.data : undefined });
        }
        rows.push({ wo, metrics: metrics.ok ? metrics.data : undefined, stages: withMetrics, late });
      }
      rows.sort((a, b) => Number(b.late) - Number(a.late) || a.wo.planned_start.localeCompare(b.wo.planned_start));
      const issues: Issue[] = [];
      for (const status of ['open', 'ack'] as const) {
        const res = await api.get('/issues', { query: { status, limit: 100 } });
        if (res.ok) issues.push(...res.data);
      }
      const stageNames = new Map<number, string>();
      for (const r of rows) for (const { stage } of r.stages) stageNames.set(stage.id, `${r.wo.product_code} · ${stage.stage_name}`);
      // GET /auth/workers: active workers, for names on the board and the assignment select.
      const listed = await api.get('/auth/workers', { query: { limit: 500 } });
      const workers = listed.ok ? listed.data : [];
      const canAssign = user.role === 'planner' || user.role === 'admin';
      const machines = await api.get('/machines', { query: { limit: 500 } });
      const shift = await currentShiftOee(api);
      return c.html(
        <Layout title={t.navBoard} {...input} current="/console/board" live="/console/events">
          <div data-live-region>
            <OeeTiles machines={machines.ok ? machines.data : []} shift={shift} clock={(ms) => time.at(ms, now)} />
            <h2>{t.openIssues}</h2>
            {issues.length === 0 ? (
              <p>{t.noIssues}</p>
            ) : (
              <div class="table-wrap">
                <table class="stack">
                  <thead>
                    <tr>
                      <th scope="col">{t.stage}</th>
                      <th scope="col">{t.issueType}</th>
                      <th scope="col">{t.problem}</th>
                      <th scope="col">{t.reported}</th>
                      <th scope="col">{t.status}</th>
                      <th scope="col">
                        <span class="sr-only">{t.actions}</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {issues.map((issue) => (
                      <IssueRow
                        issue={issue}
                        csrf={csrf}
                        where={stageNames.get(issue.work_order_stage_id)}
                        reporter={nameOf(workers, issue.created_by)}
                        now={now}
                        time={time}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <h2>{t.boardToday}</h2>
            {rows.length === 0 && <p>{t.noWorkOrders}</p>}
            <div class="cards">
              {rows.map((r) => (
                <section class="card" data-wo={r.wo.id}>
                  <h3>
                    {r.wo.product_code} · lot {r.wo.lot_no} <StatusBadge status={r.wo.status} /> {r.late && <span class="late">{t.late}</span>}
                  </h3>
                  <p class="muted">
                    {time.at(r.wo.planned_start, now)} – {time.at(r.wo.planned_end, now)} · qty {r.wo.qty}
                  </p>
                  <label>
                    {t.progress}: {r.metrics?.progress_pct ?? 0}%
                    <progress max={100} value={r.metrics?.progress_pct ?? 0} />
                  </label>
                  <ul>
                    {r.stages.map(({ stage, metrics }) => (
                      <li data-stage-line={stage.id}>
                        <StageLine stage={stage} metrics={metrics} workers={workers} />
                        {canAssign && stage.status !== 'done' && <AssignForm stage={stage} csrf={csrf} workers={workers} />}
                      </li>
                    ))}
                  </ul>
                </section>
              ))}
            </div>
          </div>
        </Layout>,
      );
    }),
  );
  app.post(
    '/console/issues/:stage/:issue',
    frame.action('/console/board', async (c, api, form) => {
      const res = await api.patch('/stages/{wos_id}/issues/{issue_id}', {
        params: { wos_id: c.req.param('stage') ?? '', issue_id: c.req.param('issue') ?? '' },
        form: { status: form.status },
      });
      return { ...res, okText: t.actionOk[form.status ?? ''] };
    }),
  );
  app.post(
    '/console/assign/:id',
    frame.action('/console/board', async (c, api, form) => {
      const userId = /^\d{1,16}$/.test(form.user_id ?? '') ? Number(form.user_id) : form.user_id;
      const res = await api.post('/stages/{wos_id}/assignments', { params: { wos_id: c.req.param('id') ?? '' }, form: { user_id: userId } });
      return { ...res, okText: t.actionOk.assign };
    }),
  );
}
