import type { z } from 'zod';
import type { DeviceBase } from './device-schema.ts';
import type { Driver, DriverDeps } from './types.ts';

/** One validated device of some protocol, ready to start. */
export interface ConfiguredDevice<S extends string = string> {
  config: DeviceBase;
  /** The machine `source` of machines this device feeds. */
  source: S;
  create(deps: DriverDeps): Promise<Driver>;
}

type ParseOutcome<S extends string = string> = { ok: true; device: ConfiguredDevice<S> } | { ok: false; issue: z.core.$ZodIssue | undefined };

/** A protocol as the registry knows it: its `protocol:` name, machine source and config parser. */
export interface Protocol<P extends string = string, S extends string = string> {
  readonly protocol: P;
  readonly source: S;
  parse(raw: unknown): ParseOutcome<S>;
}

/**
 * Describes a protocol: `schema` validates one device (spread `deviceCommon`/`tagCommon` into it),
 * `create` builds its driver (import heavy libraries inside it, so only configs that use the
 * protocol load them). The device handed to `create` is the schema's output.
 */
export function defineProtocol<P extends string, S extends string, C extends DeviceBase>(spec: {
  protocol: P;
  source: S;
  schema: z.ZodType<C>;
  create(device: C, deps: DriverDeps): Driver | Promise<Driver>;
}): Protocol<P, S> {
  return {
    protocol: spec.protocol,
    source: spec.source,
    parse(raw) {
      const parsed = spec.schema.safeParse(raw);
      if (!parsed.success) return { ok: false, issue: parsed.error.issues[0] };
      const config = parsed.data;
      return { ok: true, device: { config, source: spec.source, create: async (deps) => spec.create(config, deps) } };
    },
  };
}
