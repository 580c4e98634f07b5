import { z } from 'zod';
import { BYTE_ORDERS, DATA_TYPES, registerCount } from '../engine/codec.ts';
import { deviceCommon, ms, tagCommon } from '../engine/device-schema.ts';

const AREAS = ['coil', 'discrete', 'holding', 'input'] as const;
export type Area = (typeof AREAS)[number];

const modbusTag = z
  .object({
    ...tagCommon,
    area: z.enum(AREAS),
    address: z.number().int().min(0).max(65535),
    data_type: z.enum(DATA_TYPES).default('uint16'),
    byte_order: z.enum(BYTE_ORDERS).optional(),
    /** Registers of a string tag (2 characters each). */
    length: z.number().int().min(1).max(125).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const bitArea = t.area === 'coil' || t.area === 'discrete';
    if (bitArea && t.data_type !== 'bool') ctx.addIssue({ code: 'custom', path: ['data_type'], message: `must be bool for area ${t.area}` });
    if (!bitArea && t.data_type === 'bool') ctx.addIssue({ code: 'custom', path: ['data_type'], message: 'bool needs area coil or discrete' });
    if (t.data_type === 'string' && !t.length) ctx.addIssue({ code: 'custom', path: ['length'], message: 'is required for string tags (registers)' });
    // A tag is read from `address` on for as many registers as its type needs; all must exist.
    const last = t.address + (bitArea ? 1 : registerCount(t.data_type, t.length)) - 1;
    if (last > 65535)
      ctx.addIssue({ code: 'custom', path: ['address'], message: `${t.data_type} at ${t.address} runs past the last address 65535 (to ${last})` });
  });

const modbusCommon = {
  ...deviceCommon,
  unit_id: z.number().int().min(0).max(255).default(1),
  byte_order: z.enum(BYTE_ORDERS).default('ABCD'),
  max_registers_per_request: z.number().int().min(1).max(125).default(125),
  max_bits_per_request: z.number().int().min(1).max(2000).default(2000),
  max_gap: z.number().int().min(0).max(100).default(8),
  request_pause_ms: ms(0, 10_000).default(0),
  one_request_per_tag: z.boolean().default(false),
  tags: z.array(modbusTag).min(1),
};

export const modbusTcpSchema = z
  .object({ ...modbusCommon, protocol: z.literal('modbus-tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535).default(502) })
  .strict();

export const modbusRtuSchema = z
  .object({
    ...modbusCommon,
    protocol: z.literal('modbus-rtu'),
    path: z.string().min(1),
    baud_rate: z.number().int().positive().default(9600),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
    stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();

export type ModbusTag = z.output<typeof modbusTag>;
export type ModbusTcpDevice = z.output<typeof modbusTcpSchema>;
export type ModbusRtuDevice = z.output<typeof modbusRtuSchema>;
export type ModbusDevice = ModbusTcpDevice | ModbusRtuDevice;
