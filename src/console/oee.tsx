import type { Hono } from 'hono';
import type { HttpEnv } from '../http/types.ts';
import type { ApiData, ApiItem } from '../client/types.ts';
import type { ApiClient } from './api.ts';
import type { Frame } from './frame.tsx';
import { FormGuard } from './layout.tsx';
import { tOee } from './strings.ts';

/** The figures of one machine over the running shift, as GET /oee?shift=current returns them. */
export type MachineShiftOee = ApiData<'GET /oee'>['machines'][number];

/** What the tiles show: the running shift and each machine's figures (undefined: no shift now). */
export interface ShiftOee {
  shift: string;
  start: string;
  measuredTo: string;
  machines: Map<number, MachineShiftOee>;
}

/** A downtime record as GET /downtimes returns it. */
export type Downtime = ApiItem<'GET /downtimes'>;

/** A group of the reason tree (GET /downtime-reasons). */
export type ReasonGroup = ApiItem<'GET /downtime-reasons'>;

/** How the page writes times: plant time with its zone ("13:05 CET"). */
export type ClockText = (ms: number) => string;

/** How far back the downtime list reaches. */
const DOWNTIME_WINDOW_MS = 12 * 3_600_000;

/** The running shift's figures for every machine; undefined when no shift runs now (or the read failed). */
export async function currentShiftOee(api: ApiClient): Promise<ShiftOee | undefined> {
  const res = await api.get('/oee', { query: { shift: 'current' } });
  if (!res.ok) return undefined;
  return {
    shift: res.data.shift,
    start: res.data.start,
    measuredTo: res.data.machines[0]?.measured_to ?? res.data.start,
    machines: new Map(res.data.machines.map((m) => [m.machine_id, m])),
  };
}

/** Downtime of the last 12 hours (of one machine, or all), newest first, and the reason tree. */
export async function recentDowntime(api: ApiClient, now: number, machineId?: number): Promise<{ downtimes: Downtime[]; reasons: ReasonGroup[] }> {
  const from = new Date(now - DOWNTIME_WINDOW_MS).toISOString();
  const [list, reasons] = await Promise.all([api.get('/downtimes', { query: { from, limit: 50, machine_id: machineId } }), api.get('/downtime-reasons')]);
  return { downtimes: list.ok ? list.data : [], reasons: reasons.ok ? reasons.data : [] };
}

const percent = (v: number | null | undefined) => (v === null || v === undefined ? tOee.unknownFigure : `${(v * 100).toFixed(1)} %`);

/** A: P: Q: OEE of one machine for the running shift. */
export function OeeTile(props: { machineId: number; shift: ShiftOee | undefined; clock: ClockText }) {
  const { shift } = props;
  if (!shift) return <p class="muted">{tOee.noShift}</p>;
  const f = shift.machines.get(props.machineId);
  const rows: Array<[string, number | null | undefined]> = [
    [tOee.oee, f?.oee],
    [tOee.availability, f?.availability],
    [tOee.performance, f?.performance],
    [tOee.quality, f?.quality],
  ];
  return (
    <section class="oee-tile" data-oee-machine={props.machineId} aria-label={tOee.tileTitle(shift.shift)}>
      <h3>{tOee.tileTitle(shift.shift)}</h3>
      <p class="muted">{tOee.since(props.clock(Date.parse(shift.start)), props.clock(Date.parse(shift.measuredTo)))}</p>
      <dl>
        {rows.map(([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd data-figure={label}>{percent(value)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/**
 * How often an open page re-reads its OEE tiles with no shop-floor event: the running shift's figures
 * move with time alone (a long stop sends no events), so without it they would freeze.
 */
export const OEE_REFRESH_MS = 30_000;

/**
 * One tile per machine. The console's live region re-renders them on every shop-floor event, and
 * `data-refresh-ms` has the page's script re-read the region on that period too (assets.ts), as a
 * background fetch that does not count as a station user's activity. The note without a shift
 * carries it as well, so tiles appear when the next shift starts.
 */
export function OeeTiles(props: { machines: Array<{ id: number; name: string }>; shift: ShiftOee | undefined; clock: ClockText }) {
  const period = String(OEE_REFRESH_MS);
  if (!props.shift)
    return (
      <p class="muted" data-refresh-ms={period}>
        {tOee.noShift}
      </p>
    );
  return (
    <div class="oee-tiles" data-refresh-ms={period}>
      {props.machines.map((m) => (
        <div class="card">
          <p>
            <strong>{m.name}</strong>
          </p>
          <OeeTile machineId={m.id} shift={props.shift} clock={props.clock} />
        </div>
      ))}
    </div>
  );
}

/** Where the caller's own started stages ran: per machine, from actual start to end (or now). */
export interface MyMachines {
  has(machineId: number): boolean;
  size: number;
  /** The API's rule for a worker: one of their stages ran on the machine during the downtime. */
  may(d: Downtime): boolean;
}

/** The machines the caller's own started stages run on, and when (a worker gives reasons for those downtimes only). */
export async function myMachines(api: ApiClient): Promise<MyMachines> {
  const stages = await api.get('/stages', { query: { assigned_to: 'me', limit: 500 } });
  const runs = new Map<number, Array<{ from: number; to: number }>>();
  for (const s of stages.ok ? stages.data : []) {
    if (s.actual_start === null || s.machine_id === null) continue;
    const list = runs.get(s.machine_id) ?? [];
    list.push({ from: Date.parse(s.actual_start), to: s.actual_end === null ? Number.POSITIVE_INFINITY : Date.parse(s.actual_end) });
    runs.set(s.machine_id, list);
  }
  return {
    has: (id) => runs.has(id),
    size: runs.size,
    may: (d) => {
      const end = d.ended_at === null ? Number.POSITIVE_INFINITY : Date.parse(d.ended_at);
      return (runs.get(d.machine_id) ?? []).some((r) => r.from <= end && r.to >= Date.parse(d.started_at));
    },
  };
}

/** The reason picker: the tree as option groups; the form works without JavaScript. */
function ReasonForm(props: { d: Downtime; reasons: ReasonGroup[]; csrf: string | undefined; back: string }) {
  const { d } = props;
  const id = `reason-${d.id}`;
  return (
    <form method="post" action={`/console/downtimes/${d.id}/reason?back=${encodeURIComponent(props.back)}`}>
      <FormGuard csrf={props.csrf} />
      <label for={id}>{tOee.reason}</label>{' '}
      <select id={id} name="reason_code" required>
        <option value="">{tOee.pickReason}</option>
        {props.reasons.map((g) => (
          <optgroup label={g.label}>
            {g.children.map((r) => (
              <option value={r.code} selected={r.code === d.reason_code}>
                {r.label}
              </option>
            ))}
          </optgroup>
        ))}
      </select>{' '}
      <button type="submit">{tOee.saveReason}</button>
    </form>
  );
}

/** Downtime records with their reason pickers (only for those the viewer may set). */
export function DowntimeList(props: {
  downtimes: Downtime[];
  reasons: ReasonGroup[];
  machineNames: Map<number, string>;
  csrf: string | undefined;
  back: string;
  clock: ClockText;
  /** Which downtime this user may give a reason to; undefined: all. */
  canSet?: MyMachines;
}) {
  return (
    <section class="card" aria-label={tOee.downtimeTitle}>
      <h2>{tOee.downtimeTitle}</h2>
      {props.downtimes.length === 0 ? (
        <p>{tOee.noDowntime}</p>
      ) : (
        <ul class="downtimes">
          {props.downtimes.map((d) => (
            <li data-downtime={d.id}>
              <p>
                <strong>{props.machineNames.get(d.machine_id) ?? `#${d.machine_id}`}</strong> · {d.state} · {props.clock(Date.parse(d.started_at))}
                {' – '}
                {d.ended_at ? props.clock(Date.parse(d.ended_at)) : tOee.ongoing} · {tOee.minutes(Math.round(d.duration_ms / 60_000))} ·{' '}
                {d.reason_label ?? tOee.noReason}
              </p>
              {(props.canSet === undefined || props.canSet.may(d)) && <ReasonForm d={d} reasons={props.reasons} csrf={props.csrf} back={props.back} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// A form's way back: one of the console's own pages, never an address the form could name freely.
const safeBack = (back: string | undefined) => (back && /^\/console\/[a-z0-9/_-]*$/.test(back) ? back : '/console/machines');

/** POST /console/downtimes/{id}/reason: one PATCH /downtimes/{id} as the signed-in user. */
export function registerOee(app: Hono<HttpEnv>, frame: Frame): void {
  app.post(
    '/console/downtimes/:id/reason',
    frame.action(
      (c) => safeBack(c.req.query('back')),
      async (c, api, form) => {
        const id = c.req.param('id') ?? '';
        const res = await api.patch('/downtimes/{downtime_id}', {
          params: { downtime_id: /^\d{1,16}$/.test(id) ? id : '0' },
          body: { reason_code: form.reason_code || null },
        });
        return { ...res, okText: tOee.reasonSaved };
      },
    ),
  );
}
