import { modbusRtu, modbusTcp } from './modbus/index.ts';
import { mqtt } from './mqtt/index.ts';
import { opcua } from './opcua/index.ts';
import { sparkplug } from './sparkplug/index.ts';

/**
 * Every protocol a device file may name. A new protocol is a folder under drivers/ whose index.ts
 * calls defineProtocol (see docs/machine_integration.md, "Adding a protocol"), plus one entry here.
 */
export const PROTOCOLS = [modbusTcp, modbusRtu, opcua, mqtt, sparkplug] as const;

/** The machine `source` of a machine a configured device feeds. */
type DriverSource = (typeof PROTOCOLS)[number]['source'];
/** The `source` of a machine: a driver's, or `http` (machines posting themselves). */
export type MachineSource = DriverSource | 'http';

function unique<T>(first: T, ...rest: T[]): [T, ...T[]] {
  return [first, ...rest.filter((v, i) => v !== first && rest.indexOf(v) === i)];
}

export const MACHINE_SOURCES = unique<MachineSource>('http', ...PROTOCOLS.map((p) => p.source));
