import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/child.ts';
import { until } from './helpers/server.ts';
import { DeviceConfigError, parseDevices } from '../drivers/config.ts';
import { planReads } from '../drivers/modbus/plan.ts';
import { createBackoff } from '../drivers/engine/backoff.ts';

const base = (tags: unknown[], extra: Record<string, unknown> = {}) => ({
  machines: [{ name: 'm1', machine_type: 'press' }],
  devices: [{ name: 'press-plc', protocol: 'modbus-tcp', machine: 'm1', host: '10.0.0.5', tags, ...extra }],
});

const mqtt = (
  extra: Record<string, unknown>,
  subscriptions: unknown[] = [{ topic: 'plant/+/temp', machine: { segment: 1 }, reading_type: 'temperature' }],
) => ({
  machines: [{ name: 'm1', machine_type: 'p' }],
  devices: [{ name: 'uns', protocol: 'mqtt', url: 'mqtt://broker:1883', subscriptions, ...extra }],
});

const opcua = (extra: Record<string, unknown>, tags: unknown[]) => ({
  machines: [{ name: 'm1', machine_type: 'p' }],
  devices: [{ name: 'opc', protocol: 'opcua', machine: 'm1', endpoint: 'opc.tcp://x:4840', tags, ...extra }],
});

function errorOf(doc: unknown): string {
  try {
    parseDevices(doc, 'devices.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(DeviceConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

describe('device configuration errors name the device and the tag, on one line', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'bad data type',
      base([{ name: 'temp', reading_type: 't', area: 'holding', address: 0, data_type: 'float16' }]),
      /^devices\.yaml: device 'press-plc' tag 'temp': data_type: /,
    ],
    ['address out of range', base([{ name: 'temp', reading_type: 't', area: 'holding', address: 70000 }]), /device 'press-plc' tag 'temp': address: /],
    [
      'bool in a register',
      base([{ name: 'run', reading_type: 'r', area: 'holding', address: 1, data_type: 'bool' }]),
      /tag 'run': data_type: bool needs area coil or discrete/,
    ],
    ['string without length', base([{ name: 'label', reading_type: 'l', area: 'holding', address: 1, data_type: 'string' }]), /tag 'label': length: /],
    ['unknown byte order', base([{ name: 'x', reading_type: 'x', area: 'input', address: 1, byte_order: 'ABDC' }]), /tag 'x': byte_order: /],
    ['unknown key', base([{ name: 'x', reading_type: 'x', area: 'input', address: 1, adress: 2 }]), /tag 'x': .*adress/],
    ['undeclared machine', base([{ name: 'x', reading_type: 'x', area: 'input', address: 1, machine: 'ghost' }]), /tag 'x': machine 'ghost' is not declared/],
    [
      'duplicate tag',
      base([
        { name: 'x', reading_type: 'x', area: 'input', address: 1 },
        { name: 'x', reading_type: 'y', area: 'input', address: 2 },
      ]),
      /tag 'x': name is used twice/,
    ],
    [
      'missing host',
      {
        machines: [{ name: 'm1', machine_type: 'p' }],
        devices: [{ name: 'plc', protocol: 'modbus-tcp', machine: 'm1', tags: [{ name: 'x', reading_type: 'x', area: 'input', address: 1 }] }],
      },
      /device 'plc': host: /,
    ],
    [
      'unknown protocol',
      { machines: [], devices: [{ name: 'plc', protocol: 'profinet' }] },
      /device 'plc': protocol: must be one of modbus-tcp, modbus-rtu, opcua, mqtt, sparkplug$/,
    ],
    [
      'float32 past the last register',
      base([{ name: 'temp', reading_type: 't', area: 'holding', address: 65535, data_type: 'float32' }]),
      /tag 'temp': address: float32 at 65535 runs past the last address 65535/,
    ],
    [
      'string past the last register',
      base([{ name: 'label', reading_type: 'l', area: 'input', address: 65533, data_type: 'string', length: 4 }]),
      /tag 'label': address: string at 65533 runs past/,
    ],
    [
      'two tags with one reading type on a machine',
      base([
        { name: 'a', reading_type: 'temperature', area: 'input', address: 1 },
        { name: 'b', reading_type: 'temperature', area: 'input', address: 2 },
      ]),
      /device 'press-plc' tag 'b': machine 'm1' already gets reading_type 'temperature' from device 'press-plc' tag 'a'/,
    ],
    [
      'one reading type on a machine from two devices',
      {
        machines: [{ name: 'm1', machine_type: 'p' }],
        devices: [
          { name: 'plc', protocol: 'modbus-tcp', machine: 'm1', host: 'h', tags: [{ name: 'a', reading_type: 'rpm', area: 'input', address: 1 }] },
          { name: 'opc', protocol: 'opcua', machine: 'm1', endpoint: 'opc.tcp://x:4840', tags: [{ name: 'b', reading_type: 'rpm', node_id: 'i=1' }] },
        ],
      },
      /device 'opc' tag 'b': machine 'm1' already gets reading_type 'rpm' from device 'plc' tag 'a'/,
    ],
    [
      'OPC UA security mode None with a security policy',
      opcua({ security_mode: 'None', allow_insecure: true }, [{ name: 't', reading_type: 't', node_id: 'ns=1;i=1' }]),
      /device 'opc': security_policy: security_mode None and security_policy None go together/,
    ],
    [
      'OPC UA security policy None with a signing mode',
      opcua({ security_mode: 'Sign', security_policy: 'None', allow_insecure: true }, [{ name: 't', reading_type: 't', node_id: 'ns=1;i=1' }]),
      /device 'opc': security_mode: security_mode None and security_policy None go together/,
    ],
    [
      'OPC UA None without allow_insecure',
      opcua({ security_mode: 'None', security_policy: 'None' }, [{ name: 't', reading_type: 't', node_id: 'ns=1;i=1' }]),
      /device 'opc': security_mode: None is refused unless allow_insecure: true/,
    ],
    ['MQTT device without a broker (no url, no MQTT_URL)', mqtt({ url: undefined }), /^devices\.yaml: device 'uns': url: required when MQTT_URL is not set$/],
    ['MQTT device with a non-MQTT url', mqtt({ url: 'http://broker' }), /device 'uns': url: must be an mqtt:\/\/ or mqtts:\/\/ URL/],
    [
      'MQTT subscription with a bad machine source',
      mqtt({}, [{ topic: 'a/+', machine: { segmnt: 1 }, reading_type: 't' }]),
      /device 'uns': subscriptions\.0\.machine: /,
    ],
    ['MQTT subscription with a bad topic filter', mqtt({}, [{ topic: 'a/#/b', machine: 'm1', reading_type: 't' }]), /device 'uns': subscriptions\.0\.topic: /],
    ['MQTT device with tags', mqtt({ tags: [] }), /device 'uns': .*tags/],
    [
      'MQTT device named like another device',
      {
        machines: [{ name: 'm1', machine_type: 'p' }],
        devices: [
          { name: 'uns', protocol: 'modbus-tcp', machine: 'm1', host: 'h', tags: [{ name: 'a', reading_type: 'rpm', area: 'input', address: 1 }] },
          ...mqtt({}).devices,
        ],
      },
      /device 'uns': name is used twice/,
    ],
    [
      'OPC UA tag with both node id and browse path',
      opcua({}, [{ name: 't', reading_type: 't', node_id: 'i=1', browse_path: '/Objects/x' }]),
      /device 'opc' tag 't': give exactly one of node_id or browse_path/,
    ],
  ];
  for (const [what, doc, message] of cases) {
    it(what, () => {
      const msg = errorOf(doc);
      expect(msg).toMatch(message);
      expect(msg).not.toContain('\n');
    });
  }

  it('accepts the last registers and one reading type per machine across machines', () => {
    const cfg = parseDevices({
      machines: [
        { name: 'm1', machine_type: 'p' },
        { name: 'm2', machine_type: 'p' },
      ],
      devices: [
        {
          name: 'plc',
          protocol: 'modbus-tcp',
          machine: 'm1',
          host: 'h',
          tags: [
            { name: 'a', reading_type: 'rpm', area: 'holding', address: 65534, data_type: 'float32' },
            { name: 'b', reading_type: 'rpm', area: 'coil', address: 65535, data_type: 'bool', machine: 'm2' },
          ],
        },
      ],
    });
    expect(cfg.devices[0]?.config.tags.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('applies defaults to a valid device', () => {
    const cfg = parseDevices(base([{ name: 'x', reading_type: 'x', area: 'input', address: 1 }]));
    expect(cfg.devices[0]?.config).toMatchObject({ port: 502, unit_id: 1, timeout_ms: 1000, byte_order: 'ABCD', max_registers_per_request: 125 });
  });
});

describe('start-up with a bad device file', () => {
  it('stops with one line before anything happens: no database, no admin, no password shown', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-badcfg-'));
    try {
      const configDir = path.join(dir, 'config');
      mkdirSync(configDir);
      writeFileSync(path.join(configDir, 'gateway.yaml'), 'devices_file: devices.yaml\n');
      writeFileSync(
        path.join(configDir, 'devices.yaml'),
        'machines: [{ name: m1, machine_type: press }]\n' +
          'devices:\n  - { name: plc, protocol: modbus-tcp, machine: m1, host: 127.0.0.1, tags: [{ name: t, reading_type: t, area: holding, address: 1, data_type: float16 }] }\n',
      );
      const database = path.join(dir, 'gateway.db');
      const env = { NODE_ENV: 'development', DATABASE_PATH: database, CONFIG_DIR: configDir, PORT: '0', LOG_LEVEL: 'info' };
      const res = runCli(['serve'], env);
      expect(res.status).toBe(1);
      expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^config error: .*devices\.yaml: device 'plc' tag 't': data_type: /)]);
      expect(res.stdout).not.toMatch(/password/i);
      expect(res.stdout).not.toContain('"err"');
      expect(existsSync(database)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('engine helpers', () => {
  it('never plans a request over 125 registers or 2000 bits', () => {
    const regs = Array.from({ length: 300 }, (_, i) => ({
      name: `r${i}`,
      reading_type: 'x',
      area: 'holding' as const,
      address: i,
      data_type: 'uint16' as const,
      scale: 1,
      offset: 0,
      deadband: 0,
    }));
    const bits = Array.from({ length: 4100 }, (_, i) => ({
      name: `b${i}`,
      reading_type: 'x',
      area: 'coil' as const,
      address: i,
      data_type: 'bool' as const,
      scale: 1,
      offset: 0,
      deadband: 0,
    }));
    const plan = planReads([...regs, ...bits], { maxRegisters: 125, maxBits: 2000, maxGap: 8, onePerTag: false });
    expect(plan.filter((b) => b.area === 'holding').map((b) => b.count)).toEqual([125, 125, 50]);
    expect(plan.filter((b) => b.area === 'coil').map((b) => b.count)).toEqual([2000, 2000, 100]);
  });

  it('backs off exponentially with jitter up to the cap', () => {
    const b = createBackoff(100, 1000, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    const low = createBackoff(100, 1000, () => 0);
    expect(low.next()).toBe(50);
  });
});

describe('driver status log', () => {
  it('logs a device line when its figures change, and only then', async () => {
    const { Writable } = await import('node:stream');
    const pino = (await import('pino')).default;
    const { logStatusChanges } = await import('../src/modules/machines/drivers.ts');
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    let bad = 0;
    let reads = 0;
    const reader = () => {
      reads++;
      return {
        device: 'plc-1',
        protocol: 'modbus-tcp',
        connected: bad === 0,
        last_poll_at: null,
        last_success_at: null,
        last_error: bad ? 'timeout' : null,
        last_error_at: null,
        poll_duration_ms: 3,
        tags_total: 4,
        tags_good: 4 - bad,
        tags_bad: bad,
        tags_uncertain: 0,
      };
    };
    const timer = logStatusChanges({ logger }, [reader], 20);
    try {
      // Several unchanged reads, then a change, then several more: two lines in all.
      await until(() => reads >= 4);
      bad = 4;
      const changedAt = reads;
      await until(() => reads >= changedAt + 4);
    } finally {
      clearInterval(timer);
    }
    const statusLines = lines.filter((l) => l.msg === 'device status');
    expect(statusLines.map((l) => [l.connected, l.tags_bad, l.last_error])).toEqual([
      [true, 0, null],
      [false, 4, 'timeout'],
    ]);
  });
});
