import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ConfiguredDevice, Protocol } from './engine/protocol.ts';
import type { DriverHost } from './engine/types.ts';
import type { MachineSource } from '../src/core/vocabulary.ts';
import { PROTOCOLS } from './protocols.ts';

const machineDecl = z
  .object({ name: z.string().min(1).max(64), machine_type: z.string().min(1).max(64), location: z.string().min(1).max(128).optional() })
  .strict();

const devicesFile = z
  .object({
    /** Where node-opcua keeps its own certificate and trusted/rejected server certificates. */
    pki_dir: z.string().min(1).optional(),
    machines: z.array(machineDecl).default([]),
    devices: z.array(z.unknown()).default([]),
  })
  .strict();

type MachineDecl = z.infer<typeof machineDecl>;

export interface DevicesConfig {
  pkiDir: string | undefined;
  machines: MachineDecl[];
  devices: Array<ConfiguredDevice<MachineSource>>;
}

export class DeviceConfigError extends Error {
  override name = 'DeviceConfigError';
}

function where(raw: unknown, path: readonly PropertyKey[]): string {
  const rec = raw as { name?: unknown; tags?: Array<{ name?: unknown }> } | undefined;
  const parts = [`device ${typeof rec?.name === 'string' ? `'${rec.name}'` : '(unnamed)'}`];
  if (path[0] === 'tags' && typeof path[1] === 'number') {
    const tag = rec?.tags?.[path[1]];
    parts.push(`tag ${typeof tag?.name === 'string' ? `'${tag.name}'` : `#${path[1] + 1}`}`);
    const rest = path.slice(2).map(String).join('.');
    return `${parts.join(' ')}${rest ? `: ${rest}` : ''}`;
  }
  const rest = path.map(String).join('.');
  return `${parts.join(' ')}${rest ? `: ${rest}` : ''}`;
}

/** The protocols a device file may name: PROTOCOLS' (tests add a fake one to prove the seam). */
export type Protocols = ReadonlyArray<Protocol<string, MachineSource>>;

/**
 * Validates a parsed devices document; the error is one line naming file, device and tag. `host`
 * is what the gateway offers devices (its MQTT broker, the default for MQTT devices).
 */
export function parseDevices(doc: unknown, file = 'devices', protocols: Protocols = PROTOCOLS, host: DriverHost = {}): DevicesConfig {
  const top = devicesFile.safeParse(doc ?? {});
  if (!top.success) {
    const i = top.error.issues[0];
    throw new DeviceConfigError(`${file}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  function fail(message: string): never {
    throw new DeviceConfigError(`${file}: ${message}`);
  }
  const devices: Array<ConfiguredDevice<MachineSource>> = [];
  const machineNames = new Set(top.data.machines.map((m) => m.name));
  const seen = new Set<string>();
  /** machine → reading type → the tag that feeds it: two tags may not write one series. */
  const series = new Map<string, Map<string, string>>();
  for (const raw of top.data.devices) {
    const name = (raw as { protocol?: unknown } | null)?.protocol;
    const protocol = protocols.find((p) => p.protocol === name);
    if (!protocol) fail(`${where(raw, ['protocol'])}: must be one of ${protocols.map((p) => p.protocol).join(', ')}`);
    const parsed = protocol.parse(raw, host);
    if (!parsed.ok) fail(`${where(raw, parsed.issue?.path ?? [])}: ${parsed.issue?.message}`);
    const d = parsed.device.config;
    if (seen.has(d.name)) fail(`device '${d.name}': name is used twice`);
    seen.add(d.name);
    const tagNames = new Set<string>();
    for (const t of d.tags) {
      const at = `device '${d.name}' tag '${t.name}'`;
      if (tagNames.has(t.name)) fail(`${at}: name is used twice`);
      tagNames.add(t.name);
      const m = t.machine ?? d.machine;
      if (m === undefined) fail(`${at}: machine: required (on the tag or its device)`);
      if (!machineNames.has(m)) fail(`${at}: machine '${m}' is not declared under machines`);
      const types = series.get(m) ?? new Map<string, string>();
      const other = types.get(t.reading_type);
      if (other) fail(`${at}: machine '${m}' already gets reading_type '${t.reading_type}' from ${other}`);
      types.set(t.reading_type, `device '${d.name}' tag '${t.name}'`);
      series.set(m, types);
    }
    if (d.status && !tagNames.has(d.status.tag)) fail(`device '${d.name}': status.tag '${d.status.tag}' is not a tag of this device`);
    devices.push(parsed.device);
  }
  return { pkiDir: top.data.pki_dir, machines: top.data.machines, devices };
}

export function loadDevicesFile(file: string, host: DriverHost = {}, protocols: Protocols = PROTOCOLS): DevicesConfig {
  if (!existsSync(file)) throw new DeviceConfigError(`${file}: file not found`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DeviceConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseDevices(doc, file, protocols, host);
}
