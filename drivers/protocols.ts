import { modbusRtu, modbusTcp } from './modbus/index.ts';
import { mqtt } from './mqtt/index.ts';
import { opcua } from './opcua/index.ts';
import { sparkplug } from './sparkplug/index.ts';

/**
 * Every protocol a device file may name. A new protocol is a folder under drivers/ whose index.ts
 * calls defineProtocol (see docs/machine_integration.md, "Adding a protocol"), plus one entry here.
 */
export const PROTOCOLS = [modbusTcp, modbusRtu, opcua, mqtt, sparkplug] as const;
