import { statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { partialRead } from './api.ts';
import type { Frame } from './frame.tsx';
import { Layout, shortTime } from './layout.tsx';
import { t } from './strings.ts';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** A JSON value as a readable definition list; the API's status shapes vary by driver and sync target. */
function Fields(props: { value: unknown }) {
  const v = props.value;
  if (v === null || typeof v !== 'object') return <>{v === null || v === undefined ? '—' : String(v)}</>;
  if (Array.isArray(v)) {
    return (
      <ul>
        {v.map((item) => (
          <li>
            <Fields value={item} />
          </li>
        ))}
      </ul>
    );
  }
  return (
    <dl>
      {Object.entries(v as Record<string, unknown>).map(([k, item]) => (
        <>
          <dt>
            <strong>{k.replace(/_/g, ' ')}</strong>
          </dt>
          <dd>
            <Fields value={item} />
          </dd>
        </>
      ))}
    </dl>
  );
}

/** The MQTT publisher's entry of GET /drivers/status (present only when MQTT is configured). */
interface PublisherStatus {
  device: string;
  protocol: string;
  connected: boolean;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  queue_depth?: number;
  dropped?: number;
}
const MQTT_PUBLISHER = 'mqtt-publisher';

function MqttStatus(props: { s: PublisherStatus; now: number }) {
  const { s } = props;
  return (
    <section class="card" data-mqtt>
      <h2>{t.mqtt}</h2>
      <dl>
        <dt>{t.mqttConnected}</dt>
        <dd>
          <span class={`status ${s.connected ? 'running' : 'offline'}`}>{s.connected ? t.connected : t.disconnected}</span>
        </dd>
        <dt>{t.mqttQueue}</dt>
        <dd data-mqtt-queue>{s.queue_depth ?? '—'}</dd>
        <dt>{t.mqttDropped}</dt>
        <dd data-mqtt-dropped>{s.dropped ?? 0}</dd>
        <dt>{t.mqttLastPublished}</dt>
        <dd>{shortTime(s.last_success_at, props.now)}</dd>
        <dt>{t.lastError}</dt>
        <dd data-mqtt-error>{s.last_error ? `${s.last_error} (${shortTime(s.last_error_at, props.now)})` : '—'}</dd>
      </dl>
    </section>
  );
}

/** The part of GET /sync/status this page lays out itself; the rest is listed as it comes. */
interface SyncStatusView {
  rejected?: unknown;
  rejected_counts?: Array<{ direction: string; table: string; reason: string; count: number; last_at: string }>;
  [field: string]: unknown;
}

// Kept here until strings.ts (another change in flight) takes them.
const setAside = {
  title: 'Set aside: refused rows (replay them with `gateway sync replay-rejected`) and conflicts',
  none: 'No rows are set aside.',
  direction: 'Direction',
  table: 'Table',
  reason: 'Reason',
  count: 'Rows',
  last: 'Latest',
};

/** Rows HQ or the edge refused, counted by table and reason, so a flood of one cause stands out. */
function SetAside(props: { counts: NonNullable<SyncStatusView['rejected_counts']>; now: number }) {
  return (
    <>
      <h3>{setAside.title}</h3>
      {props.counts.length === 0 ? (
        <p data-sync-set-aside="0">{setAside.none}</p>
      ) : (
        <table data-sync-set-aside={props.counts.reduce((n, c) => n + c.count, 0)}>
          <thead>
            <tr>
              <th>{setAside.direction}</th>
              <th>{setAside.table}</th>
              <th>{setAside.reason}</th>
              <th>{setAside.count}</th>
              <th>{setAside.last}</th>
            </tr>
          </thead>
          <tbody>
            {props.counts.map((c) => (
              <tr>
                <td>{c.direction}</td>
                <td>{c.table}</td>
                <td>{c.reason}</td>
                <td>{c.count}</td>
                <td>{shortTime(c.last_at, props.now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** System: drivers, MQTT and sync status from the API, database and disk size from the filesystem. */
export function registerSystem(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  app.get(
    '/console/system',
    frame.page(['manager', 'admin'], async (c, input) => {
      // The page shows disk and database figures of its own: a card the API cannot fill says why.
      const drivers = await partialRead(input.api.call<PublisherStatus[]>('GET', '/drivers/status'));
      // The MQTT publisher reports through the driver registry; it gets a card of its own.
      const mqtt = drivers.ok ? drivers.data.find((d) => d.device === MQTT_PUBLISHER && d.protocol === 'mqtt') : undefined;
      const devices = drivers.ok ? drivers.data.filter((d) => d !== mqtt) : [];
      const sync = await partialRead(input.api.call<SyncStatusView>('GET', '/sync/status'));
      const db = ctx.config.databasePath;
      const dbBytes = fileSize(db) + fileSize(`${db}-wal`);
      let free: string = '—';
      try {
        const fs = statfsSync(path.dirname(db));
        free = mib(fs.bavail * fs.bsize);
      } catch {
        // An in-memory or vanished database directory has no free-space figure.
      }
      return c.html(
        <Layout title={t.system} {...input} current="/console/system">
          <section class="card">
            <h2>{t.drivers}</h2>
            {!drivers.ok ? <p>{drivers.message}</p> : devices.length === 0 ? <p>{t.noDrivers}</p> : <Fields value={devices} />}
          </section>
          {mqtt && <MqttStatus s={mqtt} now={ctx.clock.now()} />}
          <section class="card">
            <h2>{t.sync}</h2>
            {sync.ok ? (
              <>
                <Fields value={Object.fromEntries(Object.entries(sync.data).filter(([k]) => k !== 'rejected' && k !== 'rejected_counts'))} />
                <SetAside counts={sync.data.rejected_counts ?? []} now={ctx.clock.now()} />
              </>
            ) : (
              <p>{sync.message}</p>
            )}
          </section>
          <section class="card">
            <h2>{t.storage}</h2>
            <dl>
              <dt>{t.dbSize}</dt>
              <dd data-db-size>{mib(dbBytes)}</dd>
              <dt>{t.diskFree}</dt>
              <dd>{free}</dd>
            </dl>
          </section>
        </Layout>,
      );
    }),
  );
}
