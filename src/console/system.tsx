import { statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import type { HttpEnv } from '../http/types.ts';
import { type PlantTime, plantTime } from '../core/plant-time.ts';
import type { ApiData, ApiItem } from '../client/types.ts';
import { partialRead } from './api.ts';
import type { Frame } from './frame.tsx';
import { Layout } from './layout.tsx';
import { duration } from './pages/work.tsx';
import { t } from './strings.ts';

const GIB = 1024 ** 3;
/** Disk figures in GiB, as a plant engineer reads a disk; a small database in MiB so it does not read "0.0 GiB". */
export const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`;
const size = (bytes: number) => (bytes >= GIB ? gib(bytes) : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
/** Below this much free disk (or 10%) the page warns: the database refuses writes when the disk is full. */
const LOW_DISK_BYTES = 2 * GIB;

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** A device's entry of GET /drivers/status. */
type DeviceEntry = ApiItem<'GET /drivers/status'>;
/** GET /sync/status. */
type SyncView = ApiData<'GET /sync/status'>;

/** One time for a sentence: "13:05 CET", or "never". */
type At = (iso: string | null | undefined) => string;

/** A warning: what is wrong in one sentence, then what it means for the floor and what to do. */
function Warning(props: { text: string; meaning: string }) {
  return (
    <div class="warning-box" role="note">
      <p class="warning">{props.text}</p>
      <p>{props.meaning}</p>
    </div>
  );
}

/** A device's status (GET /drivers/status) in sentences. */
function DeviceStatus(props: { d: DeviceEntry; at: At }) {
  const { d, at } = props;
  const s = t.sys;
  return (
    <section data-device={d.device}>
      <h3>
        {d.device} ({d.protocol}) <span class={`status ${d.connected ? 'running' : 'offline'}`}>{d.connected ? t.connected : t.disconnected}</span>
      </h3>
      <p>
        {d.last_success_at ? s.lastGoodRead(at(d.last_success_at), d.poll_duration_ms) : s.noGoodRead}{' '}
        {s.tags(d.tags_total, d.tags_good, d.tags_bad, d.tags_uncertain)}
      </p>
      {!d.connected && <Warning text={s.deviceDown} meaning={s.deviceDownMeans} />}
      {d.tags_bad > 0 && <Warning text={s.badTags(d.tags_bad)} meaning={s.badTagsMean} />}
      {d.tags_uncertain > 0 && <Warning text={s.uncertainTags(d.tags_uncertain)} meaning={s.uncertainTagsMean} />}
      {d.last_error && <p>{s.lastError(at(d.last_error_at), d.last_error)}</p>}
    </section>
  );
}

/** Card titles of the gateway's publishers, by protocol. */
const PUBLISHER_TITLES: Record<string, string> = { mqtt: t.mqtt, sparkplug: t.sparkplug };

/** An outbound publisher (`kind: 'publisher'` on GET /drivers/status): its broker link and its queue. */
function PublisherStatus(props: { s: DeviceEntry; at: At }) {
  const { s, at } = props;
  return (
    <section class="card" data-mqtt>
      <h2>{PUBLISHER_TITLES[s.protocol] ?? s.device}</h2>
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
        <dd>{at(s.last_success_at)}</dd>
        <dt>{t.lastError}</dt>
        <dd data-mqtt-error>{s.last_error ? `${s.last_error} (${at(s.last_error_at)})` : '—'}</dd>
      </dl>
      {!s.connected && <Warning text={t.sys.mqttDown} meaning={t.sys.mqttDownMeans} />}
      {(s.dropped ?? 0) > 0 && <Warning text={t.sys.mqttDropped(s.dropped ?? 0)} meaning={t.sys.mqttDroppedMeans} />}
    </section>
  );
}

/** Rows HQ or the edge refused, counted by table and reason, so a flood of one cause stands out. */
function SetAside(props: { counts: SyncView['rejected_counts']; at: At }) {
  const s = t.setAside;
  return (
    <>
      <h3>{s.title}</h3>
      {props.counts.length === 0 ? (
        <p data-sync-set-aside="0">{s.none}</p>
      ) : (
        <>
          <p>{s.means}</p>
          <table data-sync-set-aside={props.counts.reduce((n, c) => n + c.count, 0)}>
            <thead>
              <tr>
                <th scope="col">{s.direction}</th>
                <th scope="col">{s.table}</th>
                <th scope="col">{s.reason}</th>
                <th scope="col">{s.count}</th>
                <th scope="col">{s.last}</th>
              </tr>
            </thead>
            <tbody>
              {props.counts.map((c) => (
                <tr>
                  <td>{c.direction}</td>
                  <td>{c.table}</td>
                  <td>{c.reason}</td>
                  <td>{c.count}</td>
                  <td>{props.at(c.last_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

/** GET /sync/status in sentences, with a warning (and what it means) for each thing that needs a look. */
function SyncStatus(props: { s: SyncView; at: At }) {
  const { s: st, at } = props;
  const s = t.sys;
  if (!st.enabled) return <p data-sync-enabled="false">{s.syncOff}</p>;
  const lag = st.pull_lag;
  return (
    <>
      <p data-sync-enabled="true">
        {st.online === null ? s.syncNotTried : st.online ? s.syncOnline : s.syncOffline}{' '}
        {st.backlog === 0 ? s.nothingWaiting : s.waiting(st.backlog, at(st.oldest_unsynced_at))}
      </p>
      <p>
        {s.lastPush(at(st.last_push_at))} {s.lastPull(at(st.last_pull_at))}
      </p>
      {st.online === false && <Warning text={s.syncOfflineWarn(st.last_error ?? '—')} meaning={s.syncOfflineMeans} />}
      {st.online !== false && st.last_error && <p>{s.syncLastError(st.last_error)}</p>}
      {lag && lag.held_changes > 0 && (
        <Warning text={s.held(lag.held_changes, at(lag.held_since), lag.held_by?.application || lag.held_by?.user || null)} meaning={s.heldMeans} />
      )}
      {st.clock?.exceeded && <Warning text={s.clockOff(duration(Math.abs(st.clock.hq_offset_ms ?? st.clock.behind_ms) / 1000))} meaning={s.clockOffMeans} />}
      <SetAside counts={st.rejected_counts} at={at} />
    </>
  );
}

function Storage(props: { dbBytes: number; disk: { free: number; total: number } | undefined }) {
  const { disk } = props;
  const s = t.sys;
  const low = disk !== undefined && (disk.free < LOW_DISK_BYTES || disk.free < disk.total * 0.1);
  return (
    <section class="card">
      <h2>{t.storage}</h2>
      <dl>
        <dt>{t.dbSize}</dt>
        <dd data-db-size>{size(props.dbBytes)}</dd>
        <dt>{t.diskFree}</dt>
        <dd data-disk-free>{disk ? s.diskFree(gib(disk.free), gib(disk.total), Math.round((100 * disk.free) / disk.total)) : s.diskUnknown}</dd>
      </dl>
      {low && <Warning text={s.diskLow} meaning={s.diskLowMeans} />}
    </section>
  );
}

/** System: drivers, MQTT and sync status from the API, database and disk size from the filesystem. */
export function registerSystem(app: Hono<HttpEnv>, frame: Frame, ctx: AppContext): void {
  app.get(
    '/console/system',
    frame.page(['manager', 'admin'], async (c, input) => {
      const now = ctx.clock.now();
      const time: PlantTime = plantTime(ctx.config.plantTz);
      const at: At = (iso) => (iso ? time.at(iso, now) : t.never);
      // The page shows disk and database figures of its own: a card the API cannot fill says why.
      const drivers = await partialRead(input.api.get('/drivers/status'));
      // The gateway's own publishers are listed with the devices; each gets a card of its own.
      const devices = drivers.ok ? drivers.data.filter((d) => d.kind === 'device') : [];
      const publishers = drivers.ok ? drivers.data.filter((d) => d.kind === 'publisher') : [];
      const sync = await partialRead(input.api.get('/sync/status'));
      const db = ctx.config.databasePath;
      const dbBytes = fileSize(db) + fileSize(`${db}-wal`);
      let disk: { free: number; total: number } | undefined;
      try {
        const fs = statfsSync(path.dirname(db));
        disk = { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize };
      } catch {
        // An in-memory or vanished database directory has no free-space figure.
      }
      return c.html(
        <Layout title={t.system} {...input} current="/console/system">
          <section class="card">
            <h2>{t.drivers}</h2>
            {!drivers.ok ? <p>{drivers.message}</p> : devices.length === 0 ? <p>{t.noDrivers}</p> : devices.map((d) => <DeviceStatus d={d} at={at} />)}
          </section>
          {publishers.map((p) => (
            <PublisherStatus s={p} at={at} />
          ))}
          <section class="card">
            <h2>{t.sync}</h2>
            {sync.ok ? <SyncStatus s={sync.data} at={at} /> : <p>{sync.message}</p>}
          </section>
          <Storage dbBytes={dbBytes} disk={disk} />
        </Layout>,
      );
    }),
  );
}
