import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const DATA_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'] as const;
export const BYTE_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export const AREAS = ['coil', 'discrete', 'holding', 'input'] as const;
const MACHINE_STATES = ['running', 'idle', 'down', 'maintenance', 'offline'] as const;

export type DataType = (typeof DATA_TYPES)[number];
export type ByteOrder = (typeof BYTE_ORDERS)[number];
export type Area = (typeof AREAS)[number];

const ident = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1–64 characters of A-Z a-z 0-9 _ . : -' });
const ms = (min: number, max: number) => z.number().int().min(min).max(max);

const tagCommon = {
  name: ident,
  machine: z.string().min(1).max(64).optional(),
  reading_type: ident,
  unit: z.string().min(1).max(32).optional(),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  deadband: z.number().finite().min(0).default(0),
  poll_interval_ms: ms(10, 3_600_000).optional(),
};

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
  });

const statusMap = z
  .object({ tag: ident, map: z.record(z.string(), z.enum(MACHINE_STATES)), default: z.enum(MACHINE_STATES).optional() })
  .strict()
  .optional();

const deviceCommon = {
  name: ident,
  machine: z.string().min(1).max(64),
  timeout_ms: ms(50, 60_000).default(1000),
  poll_interval_ms: ms(10, 3_600_000).default(1000),
  reconnect: z
    .object({ initial_ms: ms(10, 60_000).default(500), max_ms: ms(100, 600_000).default(30_000) })
    .strict()
    .default({ initial_ms: 500, max_ms: 30_000 }),
  status: statusMap,
};

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

const modbusTcp = z
  .object({ ...modbusCommon, protocol: z.literal('modbus-tcp'), host: z.string().min(1), port: z.number().int().min(1).max(65535).default(502) })
  .strict();

const modbusRtu = z
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

const opcuaTag = z
  .object({
    ...tagCommon,
    node_id: z.string().min(1).max(512).optional(),
    /** e.g. /Objects/Oven/Temperature; each segment may be prefixed `ns:` or use namespace_uri. */
    browse_path: z.string().min(2).max(512).optional(),
    namespace_uri: z.string().min(1).optional(),
    sampling_interval_ms: ms(0, 3_600_000).optional(),
  })
  .strict()
  .refine((t) => (t.node_id === undefined) !== (t.browse_path === undefined), { message: 'give exactly one of node_id or browse_path' });

const opcua = z
  .object({
    ...deviceCommon,
    protocol: z.literal('opcua'),
    endpoint: z.string().regex(/^opc\.tcp:\/\/.+/, { message: 'must be an opc.tcp:// URL' }),
    mode: z.enum(['subscription', 'poll']).default('subscription'),
    security_mode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('SignAndEncrypt'),
    security_policy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('Basic256Sha256'),
    /** Security mode None is refused unless this says so explicitly. */
    allow_insecure: z.boolean().default(false),
    /** Trust the server certificate on first use (only for commissioning; default off). */
    trust_unknown_certificates: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
    publishing_interval_ms: ms(10, 60_000).default(500),
    tags: z.array(opcuaTag).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.security_mode === 'None' || d.security_policy === 'None') && !d.allow_insecure) {
      ctx.addIssue({ code: 'custom', path: ['security_mode'], message: 'None is refused unless allow_insecure: true is set' });
    }
  });

const device = z.discriminatedUnion('protocol', [modbusTcp, modbusRtu, opcua]);

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

export type ModbusTag = z.infer<typeof modbusTag>;
export type OpcuaTag = z.infer<typeof opcuaTag>;
export type ModbusTcpDevice = z.infer<typeof modbusTcp>;
export type ModbusRtuDevice = z.infer<typeof modbusRtu>;
export type ModbusDevice = ModbusTcpDevice | ModbusRtuDevice;
export type OpcuaDevice = z.infer<typeof opcua>;
export type DeviceConfig = z.infer<typeof device>;
export type MachineDecl = z.infer<typeof machineDecl>;

export interface DevicesConfig {
  pkiDir: string | undefined;
  machines: MachineDecl[];
  devices: DeviceConfig[];
}

export class DeviceConfigError extends Error {
  override name = 'DeviceConfigError';
}

function where(raw: unknown, path: PropertyKey[]): string {
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

/** Validates a parsed devices document; the error is one line naming file, device and tag. */
export function parseDevices(doc: unknown, file = 'devices'): DevicesConfig {
  const top = devicesFile.safeParse(doc ?? {});
  if (!top.success) {
    const i = top.error.issues[0];
    throw new DeviceConfigError(`${file}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  const devices: DeviceConfig[] = [];
  const machineNames = new Set(top.data.machines.map((m) => m.name));
  const seen = new Set<string>();
  top.data.devices.forEach((raw) => {
    const parsed = device.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new DeviceConfigError(`${file}: ${where(raw, i?.path ?? [])}: ${i?.message}`);
    }
    const d = parsed.data;
    if (seen.has(d.name)) throw new DeviceConfigError(`${file}: device '${d.name}': name is used twice`);
    seen.add(d.name);
    const tagNames = new Set<string>();
    for (const t of d.tags) {
      if (tagNames.has(t.name)) throw new DeviceConfigError(`${file}: device '${d.name}' tag '${t.name}': name is used twice`);
      tagNames.add(t.name);
      const m = t.machine ?? d.machine;
      if (!machineNames.has(m)) throw new DeviceConfigError(`${file}: device '${d.name}' tag '${t.name}': machine '${m}' is not declared under machines`);
    }
    if (d.status && !tagNames.has(d.status.tag))
      throw new DeviceConfigError(`${file}: device '${d.name}': status.tag '${d.status.tag}' is not a tag of this device`);
    devices.push(d);
  });
  return { pkiDir: top.data.pki_dir, machines: top.data.machines, devices };
}

export function loadDevicesFile(file: string): DevicesConfig {
  if (!existsSync(file)) throw new DeviceConfigError(`${file}: file not found`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DeviceConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseDevices(doc, file);
}
