import { parseDevices } from '../../drivers/config.ts';
import type { ModbusTcpDevice } from '../../drivers/modbus/config.ts';

/**
 * A Modbus TCP device at 127.0.0.1:`port` feeding machine m1, validated as a devices.yaml entry
 * would be: fast polling and a short timeout for tests and benchmarks; `extra` overrides any key.
 */
export function modbusTcpDevice(port: number, tags: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}, name = 'plc'): ModbusTcpDevice {
  const cfg = parseDevices({
    machines: [{ name: 'm1', machine_type: 'press' }],
    devices: [
      {
        name,
        protocol: 'modbus-tcp',
        machine: 'm1',
        host: '127.0.0.1',
        port,
        poll_interval_ms: 50,
        timeout_ms: 300,
        reconnect: { initial_ms: 50, max_ms: 200 },
        tags,
        ...extra,
      },
    ],
  });
  return cfg.devices[0]?.config as ModbusTcpDevice;
}
