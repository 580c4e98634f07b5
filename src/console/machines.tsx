import type { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import type { Frame } from './frame.tsx';
import { Layout, StatusBadge, shortTime } from './layout.tsx';
import { t } from './strings.ts';

/** A machine as GET /machines returns it, with its latest value per reading type. */
export interface Machine {
  id: number;
  name: string;
  machine_type: string;
  location: string;
  status: string;
  last_seen_at: string | null;
  latest: Record<string, { value: number | null; unit: string | null; quality: string; timestamp: string }>;
}

/** A value older than this is shown as stale: the machine may have stopped reporting. */
export const STALE_AFTER_MS = 2 * 60_000;

function Value(props: { type: string; v: Machine['latest'][string]; now: number }) {
  const { v } = props;
  const stale = props.now - Date.parse(v.timestamp) > STALE_AFTER_MS;
  const cls = v.quality === 'bad' ? 'q-bad' : stale ? 'q-stale' : v.quality === 'uncertain' ? 'q-uncertain' : 'q-good';
  return (
    <tr data-reading={props.type}>
      <th scope="row">{props.type}</th>
      <td class={cls} data-value>
        {v.value === null ? '—' : String(v.value)} {v.unit ?? ''}
        {v.quality === 'bad' && <span class="tag">{t.qualityBad}</span>}
        {v.quality === 'uncertain' && <span class="tag">{t.qualityUncertain}</span>}
        {stale && <span class="tag">{t.qualityStale}</span>}
      </td>
      <td class="muted">{shortTime(v.timestamp, props.now)}</td>
    </tr>
  );
}

/** The machine cards; also sent as an SSE fragment when a value changes. */
export function MachineList(props: { machines: Machine[]; now: number }) {
  if (props.machines.length === 0) return <p>{t.noMachines}</p>;
  return (
    <div class="cards">
      {props.machines.map((m) => (
        <section class="card" data-machine={m.id} aria-label={m.name}>
          <h2>
            {m.name} <StatusBadge status={m.status} />
          </h2>
          <p class="muted">
            {m.machine_type} · {m.location} · {t.lastSeen}: {m.last_seen_at ? shortTime(m.last_seen_at, props.now) : t.never}
          </p>
          <table>
            <tbody>
              {Object.entries(m.latest).map(([type, v]) => (
                <Value type={type} v={v} now={props.now} />
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}

export function registerMachines(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  app.get(
    '/console/machines',
    frame.page(['worker', 'manager', 'planner', 'admin'], async (c, input) => {
      const res = await input.api.call<Machine[]>('GET', '/machines?limit=500');
      return c.html(
        <Layout title={t.machines} {...input} current="/console/machines" live="/console/events?machines=1">
          <div id="machines" aria-live="polite">
            <MachineList machines={res.ok ? res.data : []} now={ctx.clock.now()} />
          </div>
        </Layout>,
      );
    }),
  );
}
