import path from 'node:path';
import { type DeviceConfig, type DevicesConfig, loadDevicesFile } from '../../../drivers/config.ts';
import { createExceptionFilter } from '../../../drivers/engine/rbe.ts';
import type { Driver, DriverLogger, Sample } from '../../../drivers/engine/types.ts';
import { createModbusDriver } from '../../../drivers/modbus/driver.ts';
import type { AppContext } from '../../context.ts';
import type { ReadingInput } from '../readings/writer.ts';
import { ensureMachine, type MachineStatus, updateMachine } from './service.ts';

interface TagTarget {
  machineId: number;
  readingType: string;
  unit: string | null;
}

const sourceOf = (d: DeviceConfig) => (d.protocol === 'opcua' ? 'opcua' : 'modbus');

/** Registers the configured machines (source = protocol of the first device that uses them). */
function registerMachines(ctx: AppContext, cfg: DevicesConfig): Map<string, number> {
  const ids = new Map<string, number>();
  for (const m of cfg.machines) {
    const device = cfg.devices.find((d) => d.machine === m.name || d.tags.some((t) => t.machine === m.name));
    ids.set(m.name, ensureMachine(ctx, { name: m.name, machine_type: m.machine_type, location: m.location ?? null }, device ? sourceOf(device) : 'http'));
  }
  return ids;
}

/** Adapts one device's samples: report by exception, then the readings writer and the status map. */
function deviceSink(ctx: AppContext, device: DeviceConfig, machineIds: Map<string, number>) {
  const targets = new Map<string, TagTarget>();
  for (const t of device.tags) {
    targets.set(t.name, { machineId: machineIds.get(t.machine ?? device.machine) ?? 0, readingType: t.reading_type, unit: t.unit ?? null });
  }
  const deadband = new Map(device.tags.map((t) => [t.name, t.deadband]));
  const filter = createExceptionFilter((tag) => deadband.get(tag) ?? 0, ctx.config.settings.readings.heartbeat_s * 1000);
  const machineId = machineIds.get(device.machine) ?? 0;
  let lastStatus: MachineStatus | undefined;
  const setStatus = (status: MachineStatus) => {
    if (status === lastStatus) return;
    lastStatus = status;
    try {
      updateMachine(ctx, undefined, machineId, { status });
    } catch (err) {
      ctx.logger.warn({ err, device: device.name }, 'machine status update failed');
    }
  };

  return (_device: string, samples: Sample[]) => {
    ctx.metrics.driverValues.inc({ device: device.name }, samples.length);
    const passed = filter(samples, ctx.clock.now());
    const readings: ReadingInput[] = [];
    for (const s of passed) {
      const target = targets.get(s.tag);
      if (!target || typeof s.value === 'string') continue;
      readings.push({
        machineId: target.machineId,
        readingType: target.readingType,
        value: s.value,
        unit: target.unit,
        quality: s.quality,
        reason: s.reason,
        sourceTs: s.sourceTs,
      });
    }
    if (readings.length > 0) ctx.readings.push(readings, sourceOf(device));
    if (device.status) {
      const statusSample = samples.find((s) => s.tag === device.status?.tag);
      if (statusSample?.quality === 'good') {
        const mapped = device.status.map[String(statusSample.value)] ?? device.status.default;
        if (mapped) setStatus(mapped);
      } else if (statusSample?.quality === 'bad') {
        setStatus('offline');
      }
    }
  };
}

function statusReader(driver: Driver) {
  return () => {
    const s = driver.state();
    const q = [...s.tagQuality.values()];
    return {
      device: s.device,
      protocol: s.protocol,
      connected: s.connected,
      last_poll_at: s.lastPollAt,
      last_success_at: s.lastSuccessAt,
      last_error: s.lastError,
      last_error_at: s.lastErrorAt,
      poll_duration_ms: s.pollDurationMs,
      tags_total: q.length,
      tags_good: q.filter((x) => x === 'good').length,
      tags_bad: q.filter((x) => x === 'bad').length,
      tags_uncertain: q.filter((x) => x === 'uncertain').length,
    };
  };
}

/** Logs a device's /drivers/status figures whenever connection, tag qualities or the last error change. */
export function logStatusChanges(ctx: AppContext, readers: Array<ReturnType<typeof statusReader>>, everyMs = 5000): NodeJS.Timeout {
  const log = ctx.logger.child({ module: 'drivers' });
  const last = new Map<string, string>();
  const timer = setInterval(() => {
    for (const read of readers) {
      const s = read();
      const key = JSON.stringify([s.connected, s.tags_good, s.tags_bad, s.tags_uncertain, s.last_error]);
      if (last.get(s.device) === key) continue;
      last.set(s.device, key);
      log.info(
        {
          device: s.device,
          connected: s.connected,
          tags_good: s.tags_good,
          tags_bad: s.tags_bad,
          tags_uncertain: s.tags_uncertain,
          last_error: s.last_error,
          poll_duration_ms: s.poll_duration_ms,
        },
        'device status',
      );
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** Starts the field drivers declared in CONFIG_DIR/<devices_file>; none configured: nothing runs. */
export async function startDrivers(ctx: AppContext) {
  const file = ctx.config.settings.devices_file;
  if (!file) return { name: 'drivers', stop: () => {} };
  const cfg = loadDevicesFile(path.resolve(ctx.config.configDir, file));
  const machineIds = registerMachines(ctx, cfg);
  const logger: DriverLogger = ctx.logger;
  const pkiDir = path.resolve(ctx.config.configDir, cfg.pkiDir ?? path.join(path.dirname(ctx.config.databasePath), 'pki'));
  // node-opcua is large and slow to load: only a config with an OPC UA device pays for it.
  const opcua = cfg.devices.some((d) => d.protocol === 'opcua') ? await import('../../../drivers/opcua/driver.ts') : undefined;
  const drivers: Driver[] = cfg.devices.map((device) => {
    const sink = deviceSink(ctx, device, machineIds);
    if (device.protocol !== 'opcua') return createModbusDriver(device, { sink, logger });
    if (!opcua) throw new Error('OPC UA driver not loaded');
    return opcua.createOpcuaDriver(device, { sink, logger, pkiDir });
  });
  const readers = drivers.map(statusReader);
  for (const read of readers) ctx.drivers.add(read);
  for (const d of drivers) d.start();
  ctx.logger.info({ devices: drivers.length, file }, 'field drivers started');
  const summaryTimer = logStatusChanges(ctx, readers);
  return {
    name: 'drivers',
    stop: async () => {
      clearInterval(summaryTimer);
      await Promise.all(drivers.map((d) => d.stop()));
      ctx.drivers.clear();
    },
  };
}
