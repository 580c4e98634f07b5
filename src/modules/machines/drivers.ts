import path from 'node:path';
import { Counter } from 'prom-client';
import { type DevicesConfig, loadDevicesFile } from '../../../drivers/config.ts';
import type { DeviceStatus, Driver, DriverHost } from '../../../drivers/engine/types.ts';
import type { Config } from '../../config.ts';
import type { AppContext } from '../../context.ts';
import { connectivityStatus, deviceSink, machineLookup } from './driver-sink.ts';
import { ensureMachine } from './service.ts';

/** What devices get from the gateway's config: its MQTT broker (MQTT_URL) and stable client id. */
export function driverHost(config: Config): DriverHost {
  const m = config.mqtt;
  return {
    broker: m && { url: m.url, clientId: m.clientId, username: m.username, password: m.password, caFile: m.caFile, certFile: m.certFile, keyFile: m.keyFile },
  };
}

/**
 * Reads and validates CONFIG_DIR/<devices_file> (undefined when none is configured). Called before
 * anything else happens at start-up, so a bad file changes nothing: no database, no first admin.
 */
export function loadDeviceConfig(config: Config): DevicesConfig | undefined {
  const file = config.settings.devices_file;
  return file ? loadDevicesFile(path.resolve(config.configDir, file), driverHost(config)) : undefined;
}

/**
 * Messages a push device dropped, by device and reason: `gateway_<source>_ingest_rejected_total`
 * (`gateway_mqtt_ingest_rejected_total`). Registered once per registry, on first use.
 */
function rejectedCounter(ctx: AppContext, source: string): Counter<'device' | 'reason'> {
  const name = `gateway_${source.replace(/\W/g, '_')}_ingest_rejected_total`;
  const existing = ctx.metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<'device' | 'reason'>;
  return new Counter({
    name,
    help: `${source} messages dropped by ingest (too large, malformed JSON, wrong types, unknown machine)`,
    labelNames: ['device', 'reason'],
    registers: [ctx.metrics.registry],
  });
}

/** Registers the configured machines (source = that of the first device that feeds them). */
function registerMachines(ctx: AppContext, cfg: DevicesConfig): Map<string, number> {
  const ids = new Map<string, number>();
  for (const m of cfg.machines) {
    const device = cfg.devices.find(({ config: d }) => d.machine === m.name || d.tags.some((t) => t.machine === m.name));
    ids.set(m.name, ensureMachine(ctx, { name: m.name, machine_type: m.machine_type, location: m.location ?? null }, device?.source ?? 'http'));
  }
  return ids;
}

/** Logs a device's /drivers/status figures whenever connection, tag qualities or the last error change. */
export function logStatusChanges(ctx: Pick<AppContext, 'logger'>, readers: Array<() => DeviceStatus>, everyMs = 5000): NodeJS.Timeout {
  const log = ctx.logger.child({ module: 'drivers' });
  const last = new Map<string, string>();
  const timer = setInterval(() => {
    for (const read of readers) {
      const s = read();
      const key = JSON.stringify([s.connected, s.tags_good, s.tags_bad, s.tags_uncertain, s.last_error]);
      if (last.get(s.device) === key) continue;
      last.set(s.device, key);
      const { device, connected, tags_good, tags_bad, tags_uncertain, last_error, poll_duration_ms } = s;
      log.info({ device, connected, tags_good, tags_bad, tags_uncertain, last_error, poll_duration_ms }, 'device status');
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** Starts the field drivers of a validated device config (see loadDeviceConfig); none: nothing runs. */
export async function startDrivers(ctx: AppContext, cfg: DevicesConfig | undefined) {
  if (!cfg) return { name: 'drivers', stop: () => {} };
  const machineIds = registerMachines(ctx, cfg);
  ctx.readingTypes.load(cfg, machineIds);
  const pkiDir = path.resolve(ctx.config.configDir, cfg.pkiDir ?? path.join(path.dirname(ctx.config.databasePath), 'pki'));
  const connectivity = connectivityStatus(ctx, cfg, machineIds);
  const lookup = machineLookup(ctx, machineIds);
  const host = driverHost(ctx.config);
  let stopping = false;
  const drivers: Driver[] = await Promise.all(
    cfg.devices.map(({ config, source, create }) => {
      const follow = connectivity.get(config.name);
      const rejected = (reason: string) => rejectedCounter(ctx, source).inc({ device: config.name, reason });
      return create({
        sink: deviceSink(ctx, config, source, { machineIds, lookup, onRefused: (r) => rejected(r.reason) }),
        logger: ctx.logger,
        pkiDir,
        ...host,
        onRejected: rejected,
        // Stopping the gateway is not the device going away.
        ...(follow ? { onConnectedChange: (up: boolean) => stopping || follow(up) } : {}),
      });
    }),
  );
  const readers = drivers.map((d) => () => d.status());
  for (const read of readers) ctx.statusBoard.addDevice(read);
  for (const d of drivers) d.start();
  ctx.logger.info({ devices: drivers.length, file: ctx.config.settings.devices_file }, 'field drivers started');
  const summaryTimer = logStatusChanges(ctx, readers);
  return {
    name: 'drivers',
    stop: async () => {
      stopping = true;
      clearInterval(summaryTimer);
      await Promise.all(drivers.map((d) => d.stop()));
      ctx.statusBoard.clearDevices();
    },
  };
}
