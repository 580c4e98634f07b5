import type { z } from 'zod';
import type { MachineSource } from '../../src/core/vocabulary.ts';
import type { DeviceBase } from './device-schema.ts';
import type { Driver, DriverDeps, DriverHost } from './types.ts';

/** One validated device of some protocol, ready to start. */
export interface ConfiguredDevice<S extends MachineSource = MachineSource> {
  config: DeviceBase;
  /** The machine `source` of machines this device feeds. */
  source: S;
  create(deps: DriverDeps): Promise<Driver>;
}

/** A problem with one device: the key (path inside the device) and what is wrong with it. */
export interface DeviceIssue {
  path: readonly PropertyKey[];
  message: string;
}

type ParseOutcome<S extends MachineSource = MachineSource> = { ok: true; device: ConfiguredDevice<S> } | { ok: false; issue: DeviceIssue | undefined };

/** A protocol as the protocol list (drivers/protocols.ts) holds it: its `protocol:` name, machine source and config parser. */
export interface Protocol<P extends string = string, S extends MachineSource = MachineSource> {
  readonly protocol: P;
  readonly source: S;
  parse(raw: unknown, host?: DriverHost): ParseOutcome<S>;
}

/**
 * Describes a protocol: `schema` validates one device (spread `deviceCommon`/`tagCommon` into it),
 * `check` (optional) tests it against what the gateway offers (its MQTT broker), `create` builds
 * its driver (import heavy libraries inside it, so only configs that use the protocol load them).
 * The device handed to `create` is the schema's output.
 */
export function defineProtocol<P extends string, S extends MachineSource, C extends DeviceBase>(spec: {
  protocol: P;
  source: S;
  schema: z.ZodType<C>;
  check?(device: C, host: DriverHost): DeviceIssue | undefined;
  create(device: C, deps: DriverDeps): Driver | Promise<Driver>;
}): Protocol<P, S> {
  return {
    protocol: spec.protocol,
    source: spec.source,
    parse(raw, host = {}) {
      const parsed = spec.schema.safeParse(raw);
      if (!parsed.success) return { ok: false, issue: parsed.error.issues[0] };
      const config = parsed.data;
      const issue = spec.check?.(config, host);
      if (issue) return { ok: false, issue };
      return { ok: true, device: { config, source: spec.source, create: async (deps) => spec.create(config, deps) } };
    },
  };
}
