import type { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import type { ApiClient } from './api.ts';
import { CHART_SPAN_MS, Chart, type ChartReading } from './chart.tsx';
import type { Frame } from './frame.tsx';
import { Layout, STALE_AFTER_MS, StatusBadge, shortTime } from './layout.tsx';
import { t } from './strings.ts';

/** One latest value, as GET /machines returns it per reading type. */
export interface LatestValue {
  value: number | null;
  unit: string | null;
  quality: string;
  timestamp: string;
}

/** A machine as GET /machines returns it, with its latest value per reading type. */
export interface Machine {
  id: number;
  name: string;
  machine_type: string;
  location: string;
  status: string;
  last_seen_at: string | null;
  latest: Record<string, LatestValue>;
}

/** The chart reads at most this many readings of the hour (four API pages). */
const CHART_MAX_READINGS = 2000;
const VIEW_ROLES = ['worker', 'manager', 'planner', 'admin'] as const;

const chartHref = (machineId: number, type: string) => `/console/machines/${machineId}?type=${encodeURIComponent(type)}`;

/**
 * One reading type's latest value. Also rendered alone for the live stream: the page swaps the
 * row with the same machine and reading type, and marks it stale itself once it ages (data-ts).
 */
export function ValueRow(props: { machineId: number; type: string; v: LatestValue; now: number }) {
  const { v } = props;
  const ts = Date.parse(v.timestamp);
  const stale = props.now - ts > STALE_AFTER_MS;
  const cls = v.quality === 'bad' ? 'q-bad' : stale ? 'q-stale' : v.quality === 'uncertain' ? 'q-uncertain' : 'q-good';
  return (
    <tr data-reading={props.type} data-row-machine={props.machineId}>
      <th scope="row">
        <a href={chartHref(props.machineId, props.type)}>{props.type}</a>
      </th>
      <td class={cls} data-value data-ts={String(ts)} data-quality={v.quality} data-stale={stale ? '1' : undefined}>
        {v.value === null ? '—' : String(v.value)} {v.unit ?? ''}
        {v.quality === 'bad' && <span class="tag">{t.qualityBad}</span>}
        {v.quality === 'uncertain' && <span class="tag">{t.qualityUncertain}</span>}
        {stale && <span class="tag">{t.qualityStale}</span>}
      </td>
      <td class="muted">{shortTime(v.timestamp, props.now)}</td>
    </tr>
  );
}

function MachineCard(props: { m: Machine; now: number; heading?: boolean }) {
  const { m } = props;
  return (
    <section class="card" data-machine={m.id} aria-label={m.name}>
      {props.heading !== false && (
        <h2>
          <a href={`/console/machines/${m.id}`}>{m.name}</a> <StatusBadge status={m.status} />
        </h2>
      )}
      <p class="muted">
        {props.heading === false && <StatusBadge status={m.status} />} {m.machine_type} · {m.location} · {t.lastSeen}:{' '}
        {m.last_seen_at ? shortTime(m.last_seen_at, props.now) : t.never}
      </p>
      <table>
        <tbody>
          {Object.entries(m.latest).map(([type, v]) => (
            <ValueRow machineId={m.id} type={type} v={v} now={props.now} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The machine cards (the live region of the machines page). */
export function MachineList(props: { machines: Machine[]; now: number }) {
  if (props.machines.length === 0) return <p>{t.noMachines}</p>;
  return (
    <div class="cards">
      {props.machines.map((m) => (
        <MachineCard m={m} now={props.now} />
      ))}
    </div>
  );
}

/** The last hour of one reading type through GET /machines/{id}/readings, newest first, capped. */
async function lastHour(api: ApiClient, machineId: number, type: string, now: number): Promise<{ readings: ChartReading[]; capped: boolean }> {
  const readings: ChartReading[] = [];
  const from = encodeURIComponent(new Date(now - CHART_SPAN_MS).toISOString());
  let cursor: string | null | undefined = null;
  do {
    const page: Awaited<ReturnType<typeof api.call<ChartReading[]>>> = await api.call<ChartReading[]>(
      'GET',
      `/machines/${machineId}/readings?reading_type=${encodeURIComponent(type)}&from=${from}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (!page.ok) break;
    readings.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && readings.length < CHART_MAX_READINGS);
  return { readings, capped: Boolean(cursor) };
}

function MachineChart(props: { machine: Machine; type: string; hour: { readings: ChartReading[]; capped: boolean }; now: number }) {
  const { machine, type } = props;
  return (
    <div data-chart-src={`/console/machines/${machine.id}/chart?type=${encodeURIComponent(type)}`} data-chart-machine={machine.id} data-chart-type={type}>
      <Chart id={`chart-${machine.id}`} label={`${machine.name}: ${type}`} readings={props.hour.readings} capped={props.hour.capped} now={props.now} />
    </div>
  );
}

export function registerMachines(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  app.get(
    '/console/machines',
    frame.page([...VIEW_ROLES], async (c, input) => {
      const res = await input.api.call<Machine[]>('GET', '/machines?limit=500');
      return c.html(
        <Layout title={t.machines} {...input} current="/console/machines" live="/console/events?machines=all" now={ctx.clock.now()}>
          <div id="machines" data-live-region>
            <MachineList machines={res.ok ? res.data : []} now={ctx.clock.now()} />
          </div>
        </Layout>,
      );
    }),
  );

  const machineOf = (raw: string | undefined) => (/^\d{1,16}$/.test(raw ?? '') ? Number(raw) : undefined);

  // One machine: its values and the last hour of one reading type (?type=, else the first).
  app.get(
    '/console/machines/:id',
    frame.page([...VIEW_ROLES], async (c, input) => {
      const id = machineOf(c.req.param('id'));
      const res = id === undefined ? undefined : await input.api.call<Machine>('GET', `/machines/${id}`);
      if (!res?.ok) return frame.errorPage(c, 404, t.notFound, input);
      const machine = res.data;
      const types = Object.keys(machine.latest);
      const type = types.includes(c.req.query('type') ?? '') ? (c.req.query('type') as string) : types[0];
      const now = ctx.clock.now();
      return c.html(
        <Layout title={machine.name} {...input} current="/console/machines" live={`/console/events?machines=${machine.id}`} now={now}>
          <p>
            <a href="/console/machines">{t.allMachines}</a>
          </p>
          <div data-live-region>
            <MachineCard m={machine} now={now} heading={false} />
          </div>
          {type === undefined ? (
            <p>{t.chartNoValues}</p>
          ) : (
            <section class="card" style="margin-top:1rem">
              <h2>
                {type} · {t.chartLastHour}
              </h2>
              <form method="get" action={`/console/machines/${machine.id}`} class="actions">
                <div>
                  <label for="chart-type">{t.readingType}</label>
                  <select id="chart-type" name="type">
                    {types.map((x) => (
                      <option value={x} selected={x === type}>
                        {x}
                      </option>
                    ))}
                  </select>
                </div>
                <button type="submit" class="secondary">
                  {t.show}
                </button>
              </form>
              <MachineChart machine={machine} type={type} hour={await lastHour(input.api, machine.id, type, now)} now={now} />
            </section>
          )}
        </Layout>,
      );
    }),
  );

  // The chart alone: the page re-fetches it when the live stream brings a reading of its type.
  app.get(
    '/console/machines/:id/chart',
    frame.page([...VIEW_ROLES], async (c, input) => {
      const id = machineOf(c.req.param('id'));
      const type = c.req.query('type') ?? '';
      const res = id === undefined ? undefined : await input.api.call<Machine>('GET', `/machines/${id}`);
      if (!res?.ok || !Object.hasOwn(res.data.latest, type)) return frame.errorPage(c, 404, t.notFound, input);
      const now = ctx.clock.now();
      return c.html(<MachineChart machine={res.data} type={type} hour={await lastHour(input.api, res.data.id, type, now)} now={now} />);
    }),
  );
}
