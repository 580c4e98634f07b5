import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { encodeRegisters } from '../../drivers/engine/codec.ts';
import type { ModbusSim } from './modbus-sim.ts';
import type { OpcuaSim } from './opcua-sim.ts';

/** The demo's third machine: a CNC mill on the same Modbus server, registers from 100. */
export const CNC_MACHINE = { name: 'cnc-02', machine_type: 'CNC mill', location: 'hall B' };

export const CNC_DEVICE = {
  name: 'cnc-02-plc',
  protocol: 'modbus-tcp',
  machine: 'cnc-02',
  host: '127.0.0.1',
  unit_id: 1,
  timeout_ms: 1000,
  poll_interval_ms: 1000,
  status: { tag: 'state', map: { '0': 'idle', '1': 'running', '2': 'down' } },
  tags: [
    { name: 'state', reading_type: 'state', area: 'holding', address: 100, data_type: 'uint16' },
    { name: 'spindle', reading_type: 'spindle_speed', unit: 'rpm', area: 'holding', address: 102, data_type: 'float32', deadband: 25 },
    { name: 'parts', reading_type: 'part_count', area: 'holding', address: 104, data_type: 'uint32' },
    { name: 'coolant', reading_type: 'temperature', unit: '°C', area: 'input', address: 10, data_type: 'int16', scale: 0.1, deadband: 0.2 },
  ],
};

/** A devices file: machines and devices as `devices.yaml` holds them. */
export interface DevicesFile {
  machines: unknown[];
  devices: Array<Record<string, unknown>>;
}

/**
 * The demo plant's devices file: the shipped example devices (press-01 over Modbus, oven-01 over
 * OPC UA) plus the CNC mill, all pointed at the simulators (`npm run demo`, test/oee/e2e.test.ts).
 */
export function demoDevices(root: string, modbusPort: number, opcua: { endpoint: string; namespaceUri: string }): DevicesFile {
  const devices = parse(readFileSync(path.join(root, 'config/devices.example.yaml'), 'utf8')) as DevicesFile;
  for (const d of devices.devices) {
    if (d.protocol === 'modbus-tcp') d.port = modbusPort;
    if (d.protocol === 'opcua') {
      d.endpoint = opcua.endpoint;
      // The simulator's Health variable (1 = good) drives the oven's status, as a state tag would.
      const tags = d.tags as Array<Record<string, unknown>>;
      tags.push({ name: 'health', reading_type: 'health', browse_path: '/Objects/Oven/Health', namespace_uri: opcua.namespaceUri });
      d.status = { tag: 'health', map: { '1': 'running', '0': 'down' } };
    }
  }
  devices.machines.push(CNC_MACHINE);
  devices.devices.push({ ...CNC_DEVICE, port: modbusPort });
  return devices;
}

function put(sim: ModbusSim, address: number, value: number, type: 'float32' | 'uint32', order: 'ABCD' | 'CDAB'): void {
  encodeRegisters(value, type, order).forEach((w, i) => {
    sim.holding[address + i] = w;
  });
}

/**
 * Plausible signals, once a second: press-01 strokes with a slowly swinging pressure and oil
 * temperature and a short stop every two minutes; cnc-02 mills parts with spindle speed and
 * coolant temperature; oven-01 holds about 160 °C and counts trays. Returns a stop function.
 */
export function animate(modbus: ModbusSim, opcua: OpcuaSim): () => void {
  let strokes = 0;
  let parts = 0;
  const tick = () => {
    const t = Date.now() / 1000;
    const pressDown = Math.floor(t / 20) % 6 === 5;
    if (!pressDown) strokes += 1;
    modbus.holding[0] = pressDown ? 2 : 1;
    put(modbus, 2, pressDown ? 0 : 180 + 20 * Math.sin(t / 10), 'float32', 'ABCD');
    put(modbus, 4, strokes, 'uint32', 'CDAB');
    modbus.input[0] = Math.round(10 * (45 + 3 * Math.sin(t / 20)));
    modbus.discrete[0] = Math.floor(t / 15) % 2 === 0;
    if (Math.floor(t) % 7 === 0) parts += 1;
    modbus.holding[100] = 1;
    put(modbus, 102, 8000 + 400 * Math.sin(t / 8), 'float32', 'ABCD');
    put(modbus, 104, parts, 'uint32', 'ABCD');
    modbus.input[10] = Math.round(10 * (22 + Math.sin(t / 30)));
    opcua.temperature = 160 + 5 * Math.sin(t / 15);
    if (Math.floor(t) % 5 === 0) opcua.count += 1;
  };
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}
