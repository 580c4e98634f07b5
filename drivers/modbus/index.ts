import { defineProtocol } from '../engine/protocol.ts';
import { modbusRtuSchema, modbusTcpSchema } from './config.ts';

// modbus-serial loads only when a Modbus device is configured.
const create = async (...args: Parameters<typeof import('./driver.ts').createModbusDriver>) => (await import('./driver.ts')).createModbusDriver(...args);

export const modbusTcp = defineProtocol({ protocol: 'modbus-tcp', source: 'modbus', schema: modbusTcpSchema, create });
export const modbusRtu = defineProtocol({ protocol: 'modbus-rtu', source: 'modbus', schema: modbusRtuSchema, create });
