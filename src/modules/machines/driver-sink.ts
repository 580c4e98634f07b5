import type { DevicesConfig } from '../../../drivers/config.ts';
import type { DeviceBase } from '../../../drivers/engine/device-schema.ts';
import { createExceptionFilter } from '../../../drivers/engine/rbe.ts';
import type { MachineStatus, Sample, SampleSink } from '../../../drivers/engine/types.ts';
import type { AppContext } from '../../context.ts';
import type { ReadingInput } from '../readings/writer.ts';
import { getMachine, updateMachine } from './service.ts';

function setStatus(ctx: AppContext, machineId: number, status: MachineStatus, device: string): void {
  try {
    updateMachine(ctx, undefined, machineId, { status });
  } catch (err) {
    ctx.logger.warn({ err, device }, 'machine status update failed');
  }
}

/** Adapts one device's samples: report by exception, then the readings writer and the status map. */
export function deviceSink(ctx: AppContext, device: DeviceBase, source: string, machineIds: Map<string, number>): SampleSink {
  const targets = new Map<string, { machineId: number; readingType: string; unit: string | null }>();
  for (const t of device.tags) {
    targets.set(t.name, { machineId: machineIds.get(t.machine ?? device.machine) ?? 0, readingType: t.reading_type, unit: t.unit ?? null });
  }
  const deadband = new Map(device.tags.map((t) => [t.name, t.deadband]));
  const filter = createExceptionFilter((tag) => deadband.get(tag) ?? 0, ctx.config.settings.readings.heartbeat_s * 1000);
  const machineId = machineIds.get(device.machine) ?? 0;
  let lastStatus: MachineStatus | undefined;
  const mapStatus = (status: MachineStatus) => {
    if (status === lastStatus) return;
    lastStatus = status;
    setStatus(ctx, machineId, status, device.name);
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
    if (readings.length > 0) ctx.readings.push(readings, source);
    if (device.status) {
      const statusSample = samples.find((s) => s.tag === device.status?.tag);
      if (statusSample?.quality === 'good') {
        // Map keys are the text of the scaled value: 1 → "1", 1.5 → "1.5", a string tag's text as is.
        const mapped = device.status.map[String(statusSample.value)] ?? device.status.default;
        if (mapped) mapStatus(mapped);
      } else if (statusSample?.quality === 'bad') {
        mapStatus('offline');
      }
    }
  };
}

/**
 * Machines no status map describes only show whether their devices answer: `offline` while none
 * does; when one answers again an `offline` machine becomes `idle` (a status set by hand stays).
 * Returns, per device name, what to call when that device starts or stops answering.
 */
export function connectivityStatus(ctx: AppContext, cfg: DevicesConfig, machineIds: Map<string, number>): Map<string, (up: boolean) => void> {
  const mapped = new Set(cfg.devices.filter((d) => d.config.status).map((d) => d.config.machine));
  const answering = new Map<string, Set<string>>();
  const handlers = new Map<string, (up: boolean) => void>();
  for (const { config: d } of cfg.devices) {
    const fed = new Set([d.machine, ...d.tags.map((t) => t.machine ?? d.machine)].filter((m) => !mapped.has(m)));
    if (fed.size === 0) continue;
    handlers.set(d.name, (up) => {
      for (const machine of fed) {
        const devices = answering.get(machine) ?? new Set<string>();
        if (up) devices.add(d.name);
        else devices.delete(d.name);
        answering.set(machine, devices);
        const id = machineIds.get(machine);
        if (id === undefined) continue;
        const current = getMachine(ctx, id).status;
        if (devices.size === 0 && current !== 'offline') setStatus(ctx, id, 'offline', d.name);
        else if (devices.size > 0 && current === 'offline') setStatus(ctx, id, 'idle', d.name);
      }
    });
  }
  return handlers;
}
