import type { DevicesConfig } from '../../../drivers/config.ts';
import type { DeviceBase } from '../../../drivers/engine/device-schema.ts';
import { createExceptionFilter } from '../../../drivers/engine/rbe.ts';
import type { Sample, SampleSink, SinkRefusal } from '../../../drivers/engine/types.ts';
import type { MachineStatus } from '../../core/vocabulary.ts';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import type { ReadingInput } from '../readings/writer.ts';
import { getMachine, updateMachine } from './service.ts';

/**
 * Sets a machine's status from a device. False when storage failed (a full disk): worth another
 * try with the next sample. Any other failure is logged and not retried.
 */
function setStatus(ctx: AppContext, machineId: number, status: MachineStatus, device: string, quiet = false): boolean {
  try {
    updateMachine(ctx, undefined, machineId, { status });
    return true;
  } catch (err) {
    if (!quiet) ctx.logger.warn({ err, device }, 'machine status update failed');
    return !(err instanceof AppError && err.code === 'UNAVAILABLE');
  }
}

/** Machine id by name, for samples that name their machine; undefined when there is none. */
export type MachineLookup = (name: string) => number | undefined;

/**
 * Looks machine names up in the machines table; found ids are kept (machines are never renamed or
 * deleted), misses are not, so a machine created later (`POST /machines`) is found then.
 */
export function machineLookup(ctx: AppContext, known: Map<string, number>): MachineLookup {
  const { machines } = ctx.store.data;
  const found = new Map(known);
  return (name) => {
    const hit = found.get(name);
    if (hit !== undefined) return hit;
    const id = machines.idByName(name);
    if (id !== undefined && found.size < 100_000) found.set(name, id);
    return id;
  };
}

/**
 * Readings of the samples that name their series (push protocols), undefined when there are none,
 * or a refusal when one names an unknown machine: then nothing of the batch is stored. These pass
 * unfiltered: a machine that publishes has chosen what to send.
 */
function namedReadings(samples: Sample[], lookup: MachineLookup): ReadingInput[] | SinkRefusal | undefined {
  let out: ReadingInput[] | undefined;
  for (const s of samples) {
    if (!s.target || typeof s.value === 'string') continue;
    const machineId = lookup(s.target.machine);
    if (machineId === undefined) return { reason: 'unknown_machine', detail: `no machine named '${s.target.machine.slice(0, 64)}'` };
    out ??= [];
    out.push({
      machineId,
      readingType: s.target.readingType,
      value: s.value,
      unit: s.target.unit,
      quality: s.quality,
      reason: s.reason,
      sourceTs: s.sourceTs,
    });
  }
  return out;
}

/** What a device's sink needs besides the device: machine ids, and where refused batches are counted. */
export interface SinkTargets {
  machineIds: Map<string, number>;
  lookup: MachineLookup;
  onRefused(refusal: SinkRefusal): void;
}

/**
 * Adapts one device's samples: report by exception for tags, then the readings writer and the
 * status map. Samples that name their machine (push protocols) are resolved by name, all or none.
 */
export function deviceSink(ctx: AppContext, device: DeviceBase, source: string, to: SinkTargets): SampleSink {
  const { machineIds } = to;
  const targets = new Map<string, { machineId: number; readingType: string; unit: string | null }>();
  for (const t of device.tags) {
    const machine = t.machine ?? device.machine;
    targets.set(t.name, { machineId: (machine && machineIds.get(machine)) || 0, readingType: t.reading_type, unit: t.unit ?? null });
  }
  const deadband = new Map(device.tags.map((t) => [t.name, t.deadband]));
  const filter = createExceptionFilter((tag) => deadband.get(tag) ?? 0, ctx.config.settings.readings.heartbeat_s * 1000);
  const machineId = (device.machine && machineIds.get(device.machine)) || 0;
  let lastStatus: MachineStatus | undefined;
  let retrying = false;
  const mapStatus = (status: MachineStatus) => {
    // Remembered only once stored: a status storage refused (a full disk) is tried again at the
    // next sample, logged once until it is stored.
    if (status === lastStatus) return;
    const done = setStatus(ctx, machineId, status, device.name, retrying);
    retrying = !done;
    if (done) lastStatus = status;
  };

  return (_device: string, samples: Sample[]) => {
    ctx.metrics.driverValues.inc({ device: device.name }, samples.length);
    const named = namedReadings(samples, to.lookup);
    if (named && !Array.isArray(named)) {
      to.onRefused(named);
      return named;
    }
    const passed = filter(samples, ctx.clock.now());
    const readings: ReadingInput[] = named ?? [];
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
    if (device.status && device.machine) {
      const statusSample = samples.find((s) => s.tag === device.status?.tag);
      if (statusSample?.quality === 'good') {
        // Map keys are the text of the scaled value: 1 → "1", 1.5 → "1.5", a string tag's text as is.
        const mapped = device.status.map[String(statusSample.value)] ?? device.status.default;
        if (mapped) mapStatus(mapped);
      } else if (statusSample?.quality === 'bad') {
        mapStatus('offline');
      }
    }
    return undefined;
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
    const fed = new Set([d.machine, ...d.tags.map((t) => t.machine ?? d.machine)].filter((m): m is string => m !== undefined && !mapped.has(m)));
    if (fed.size === 0) continue;
    handlers.set(d.name, (up) => {
      for (const machine of fed) {
        const devices = answering.get(machine) ?? new Set<string>();
        if (up) devices.add(d.name);
        else devices.delete(d.name);
        answering.set(machine, devices);
        const id = machineIds.get(machine);
        if (id === undefined) continue;
        // Called from inside a driver's connect and disconnect: a failing database is logged
        // here, never thrown into the driver's connection handling.
        let current: MachineStatus;
        try {
          current = getMachine(ctx, id).status;
        } catch (err) {
          ctx.logger.warn({ err, device: d.name }, 'machine status read failed');
          continue;
        }
        if (devices.size === 0 && current !== 'offline') setStatus(ctx, id, 'offline', d.name);
        else if (devices.size > 0 && current === 'offline') setStatus(ctx, id, 'idle', d.name);
      }
    });
  }
  return handlers;
}
