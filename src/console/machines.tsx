import type { Hono } from 'hono';
import type { AppContext, ReadingTypeCatalog, ReadingTypeInfo } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { type PlantTime, plantTime } from '../core/plant-time.ts';
import { humanReadingType } from '../modules/machines/reading-types.ts';
import type { ApiItem, ApiQuery } from '../client/types.ts';
import type { ApiClient } from './api.ts';
import { CHART_SPAN_MS, Chart, type ChartReading } from './chart.tsx';
import type { Frame } from './frame.tsx';
import { Layout, STALE_AFTER_MS, StatusBadge } from './layout.tsx';
import { currentShiftOee, DowntimeList, myMachines, OeeTiles, recentDowntime } from './oee.tsx';
import { t } from './strings.ts';

/** A machine as GET /machines returns it, with its latest value per reading type. */
export type Machine = ApiItem<'GET /machines'>;

/** What a value row shows of one latest value (the live stream builds it from a stored batch). */
export type LatestValue = Pick<Machine['latest'][string], 'value' | 'unit' | 'quality' | 'timestamp'>;

/** The chart reads at most this many readings of the hour (four API pages). */
const CHART_MAX_READINGS = 2000;
const VIEW_ROLES = ['worker', 'manager', 'planner', 'admin'] as const;

const chartHref = (machineId: number, type: string) => `/console/machines/${machineId}?type=${encodeURIComponent(type)}`;

/** "Fan speed, rpm": the tag's display name (else the reading type made readable) and its unit. */
export function readingLabel(type: string, info: ReadingTypeInfo | undefined, unit: string | null | undefined): string {
  const name = info?.displayName ?? humanReadingType(type);
  const u = info?.unit ?? unit;
  return u ? `${name}, ${u}` : name;
}

/** What every machine view needs to show values: the render time, plant time and the tags' names. */
export interface ValueView {
  now: number;
  time: PlantTime;
  readingTypes: ReadingTypeCatalog;
}

/**
 * One reading type's latest value. Also rendered alone for the live stream: the page swaps the
 * row with the same machine and reading type, and marks it stale itself once it ages (data-ts).
 */
export function ValueRow(props: { machineId: number; type: string; v: LatestValue; view: ValueView }) {
  const { v, view } = props;
  const info = view.readingTypes.describe(props.machineId, props.type);
  const ts = Date.parse(v.timestamp);
  // A tag read every 2.5 minutes is not stale after 2: it ages by twice its own period.
  const staleAfter = Math.max(STALE_AFTER_MS, 2 * (info?.periodMs ?? 0));
  const stale = view.now - ts > staleAfter;
  const cls = v.quality === 'bad' ? 'q-bad' : stale ? 'q-stale' : v.quality === 'uncertain' ? 'q-uncertain' : 'q-good';
  return (
    <tr data-reading={props.type} data-row-machine={props.machineId}>
      <th scope="row">
        <a href={chartHref(props.machineId, props.type)}>{readingLabel(props.type, info, v.unit)}</a>
      </th>
      <td class={cls} data-value data-ts={String(ts)} data-stale-ms={String(staleAfter)} data-quality={v.quality} data-stale={stale ? '1' : undefined}>
        {v.value === null ? '—' : String(v.value)} {v.unit ?? ''}
        {v.quality === 'bad' && <span class="tag">{t.qualityBad}</span>}
        {v.quality === 'uncertain' && <span class="tag">{t.qualityUncertain}</span>}
        {stale && <span class="tag">{t.qualityStale}</span>}
      </td>
      <td class="muted" data-time>
        {view.time.at(ts, view.now)}
      </td>
    </tr>
  );
}

function MachineCard(props: { m: Machine; view: ValueView; heading?: boolean }) {
  const { m, view } = props;
  // A machine registered without a location (the API's null) shows none, not an empty part.
  const where = m.location === null ? '' : ` · ${m.location}`;
  return (
    <section class="card" data-machine={m.id} aria-label={m.name}>
      {props.heading !== false && (
        <h2>
          <a href={`/console/machines/${m.id}`}>{m.name}</a> <StatusBadge status={m.status} />
        </h2>
      )}
      <p class="muted">
        {props.heading === false && <StatusBadge status={m.status} />} {m.machine_type}
        {where} · {t.lastSeen}: {/* The page's script moves it on when a newer reading of this machine arrives. */}
        <span data-last-seen={m.last_seen_at ? String(Date.parse(m.last_seen_at)) : '0'}>
          {m.last_seen_at ? view.time.at(m.last_seen_at, view.now) : t.never}
        </span>
      </p>
      <table>
        <tbody>
          {Object.entries(m.latest).map(([type, v]) => (
            <ValueRow machineId={m.id} type={type} v={v} view={view} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The machine cards (the live region of the machines page). */
export function MachineList(props: { machines: Machine[]; view: ValueView }) {
  if (props.machines.length === 0) return <p>{t.noMachines}</p>;
  return (
    <div class="cards">
      {props.machines.map((m) => (
        <MachineCard m={m} view={props.view} />
      ))}
    </div>
  );
}

/** The last hour of one reading type through GET /machines/{id}/readings, newest first, capped. */
async function lastHour(api: ApiClient, machineId: number, type: string, now: number): Promise<{ readings: ChartReading[]; capped: boolean }> {
  const readings: ChartReading[] = [];
  const from = new Date(now - CHART_SPAN_MS).toISOString();
  let cursor: string | null | undefined = null;
  do {
    const query: ApiQuery<'GET /machines/{machine_id}/readings'> = { reading_type: type, from, limit: 500, cursor: cursor ?? undefined };
    const page = await api.get('/machines/{machine_id}/readings', { params: { machine_id: machineId }, query });
    if (!page.ok) break;
    readings.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && readings.length < CHART_MAX_READINGS);
  return { readings, capped: Boolean(cursor) };
}

function MachineChart(props: { machine: Machine; type: string; hour: { readings: ChartReading[]; capped: boolean }; view: ValueView }) {
  const { machine, type, view } = props;
  const info = view.readingTypes.describe(machine.id, type);
  return (
    <div data-chart-src={`/console/machines/${machine.id}/chart?type=${encodeURIComponent(type)}`} data-chart-machine={machine.id} data-chart-type={type}>
      <Chart
        id={`chart-${machine.id}`}
        label={`${machine.name}: ${readingLabel(type, info, machine.latest[type]?.unit)}`}
        readings={props.hour.readings}
        capped={props.hour.capped}
        now={view.now}
        time={view.time}
        periodMs={info?.periodMs}
      />
    </div>
  );
}

export function registerMachines(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  const view = (): ValueView => ({ now: ctx.clock.now(), time: plantTime(ctx.config.plantTz), readingTypes: ctx.readingTypes });
  app.get(
    '/console/machines',
    frame.page([...VIEW_ROLES], async (c, input) => {
      const res = await input.api.get('/machines', { query: { limit: 500 } });
      const v = view();
      const machines = res.ok ? res.data : [];
      const clock = (ms: number) => v.time.at(ms, v.now);
      const [shift, down] = await Promise.all([currentShiftOee(input.api), recentDowntime(input.api, v.now)]);
      const canSet = input.user.role === 'worker' ? await myMachines(input.api) : undefined;
      return c.html(
        <Layout title={t.machines} {...input} current="/console/machines" live="/console/events?machines=all" now={v.now}>
          <div id="machines" data-live-region>
            <MachineList machines={machines} view={v} />
            <OeeTiles machines={machines} shift={shift} clock={clock} />
          </div>
          <DowntimeList
            downtimes={down.downtimes}
            reasons={down.reasons}
            machineNames={new Map(machines.map((m) => [m.id, m.name]))}
            csrf={input.csrf}
            back="/console/machines"
            clock={clock}
            canSet={canSet}
          />
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
      const res = id === undefined ? undefined : await input.api.get('/machines/{machine_id}', { params: { machine_id: id } });
      if (!res?.ok) return frame.errorPage(c, 404, t.notFound, input);
      const machine = res.data;
      const types = Object.keys(machine.latest);
      const type = types.includes(c.req.query('type') ?? '') ? (c.req.query('type') as string) : types[0];
      const v = view();
      const label = (x: string) => readingLabel(x, ctx.readingTypes.describe(machine.id, x), machine.latest[x]?.unit);
      return c.html(
        <Layout title={machine.name} {...input} current="/console/machines" live={`/console/events?machines=${machine.id}`} now={v.now}>
          <p>
            <a href="/console/machines">{t.allMachines}</a>
          </p>
          <div data-live-region>
            <MachineCard m={machine} view={v} heading={false} />
          </div>
          {type === undefined ? (
            <p>{t.chartNoValues}</p>
          ) : (
            <section class="card" style="margin-top:1rem">
              <h2>
                {label(type)} · {t.chartLastHour}
              </h2>
              <form method="get" action={`/console/machines/${machine.id}`} class="actions">
                <div>
                  <label for="chart-type">{t.readingType}</label>
                  <select id="chart-type" name="type">
                    {types.map((x) => (
                      <option value={x} selected={x === type}>
                        {label(x)}
                      </option>
                    ))}
                  </select>
                </div>
                <button type="submit" class="secondary">
                  {t.show}
                </button>
              </form>
              <MachineChart machine={machine} type={type} hour={await lastHour(input.api, machine.id, type, v.now)} view={v} />
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
      const res = id === undefined ? undefined : await input.api.get('/machines/{machine_id}', { params: { machine_id: id } });
      if (!res?.ok || !Object.hasOwn(res.data.latest, type)) return frame.errorPage(c, 404, t.notFound, input);
      const v = view();
      return c.html(<MachineChart machine={res.data} type={type} hour={await lastHour(input.api, res.data.id, type, v.now)} view={v} />);
    }),
  );
}
