import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Counter } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type MqttDevice, mqttDeviceSchema } from '../../drivers/mqtt/config.ts';
import type { BrokerSettings } from '../../drivers/mqtt/connection.ts';
import { ConfigError } from '../config.ts';
import type { AppContext } from '../context.ts';

// MQTT ingest devices live in their own file (gateway.yaml mqtt.ingest_file), in the shape a
// devices-file entry has, and are started here. The driver registry's sink maps samples by tag to
// a fixed machine, while an MQTT message names its machine itself (topic level or payload field),
// so ingest joins the registry once its sink can take a machine per sample.

const ingestFile = z.object({ devices: z.array(z.unknown()).min(1) }).strict();

/** Validates the ingest file; the error names the file, the device and the key. */
export function loadIngestDevices(file: string): MqttDevice[] {
  if (!existsSync(file)) throw new ConfigError(`${file}: file not found`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const top = ingestFile.safeParse(doc ?? {});
  if (!top.success) throw new ConfigError(`${file}: ${top.error.issues[0]?.path.join('.') || '(root)'}: ${top.error.issues[0]?.message}`);
  const names = new Set<string>();
  return top.data.devices.map((raw, i) => {
    const parsed = mqttDeviceSchema.safeParse(raw);
    const label = typeof (raw as { name?: unknown })?.name === 'string' ? `'${(raw as { name: string }).name}'` : `#${i + 1}`;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${file}: device ${label}: ${issue?.path.join('.') || '(device)'}: ${issue?.message}`);
    }
    if (names.has(parsed.data.name)) throw new ConfigError(`${file}: device ${label}: name is used twice`);
    names.add(parsed.data.name);
    return parsed.data;
  });
}

function brokerFor(ctx: AppContext, d: MqttDevice, file: string): Omit<BrokerSettings, 'will'> {
  const gw = ctx.config.mqtt;
  const url = d.url ?? gw?.url;
  if (!url) throw new ConfigError(`${file}: device '${d.name}': url: required when MQTT_URL is not set`);
  // Without its own url the device uses the gateway's broker with its credentials and TLS files.
  const inherit = d.url === undefined && gw !== undefined;
  return {
    url,
    clientId: d.client_id ?? `${gw?.clientId ?? `gateway-site-${ctx.config.siteId}`}-${d.name}`,
    username: d.username ?? (inherit ? gw.username : undefined),
    password: d.password ?? (inherit ? gw.password : undefined),
    caFile: inherit ? gw.caFile : undefined,
    certFile: inherit ? gw.certFile : undefined,
    keyFile: inherit ? gw.keyFile : undefined,
    reconnectInitialMs: d.reconnect.initial_ms,
    reconnectMaxMs: d.reconnect.max_ms,
  };
}

/** Starts the MQTT ingest devices of gateway.yaml mqtt.ingest_file; none configured: nothing runs. */
export async function startMqttIngest(ctx: AppContext) {
  const name = ctx.config.settings.mqtt.ingest_file;
  if (!name) return { name: 'mqtt-ingest', stop: async () => {} };
  const file = path.resolve(ctx.config.configDir, name);
  const devices = loadIngestDevices(file);
  const { createMqttIngestDriver } = await import('../../drivers/mqtt/driver.ts'); // mqtt.js only when used
  const rejected = new Counter({
    name: 'gateway_mqtt_ingest_rejected_total',
    help: 'MQTT payloads dropped by ingest (too large, malformed JSON, wrong types, unknown machine)',
    labelNames: ['device', 'reason'],
    registers: [ctx.metrics.registry],
  });
  const byName = ctx.store.sqlite.prepare('SELECT id FROM machines WHERE name = ?').pluck();
  const known = new Map<string, number>();
  const machineId = (machine: string): number | undefined => {
    const hit = known.get(machine);
    if (hit !== undefined) return hit;
    const id = byName.get(machine) as number | undefined;
    if (id !== undefined && known.size < 100_000) known.set(machine, id);
    return id;
  };
  const drivers = devices.map((d) =>
    createMqttIngestDriver(d, brokerFor(ctx, d, file), {
      logger: ctx.logger,
      push: (readings) => ctx.readings.push(readings, 'mqtt'),
      machineId,
      onRejected: (reason) => rejected.inc({ device: d.name, reason }),
      now: () => ctx.clock.now(),
    }),
  );
  for (const driver of drivers) {
    ctx.drivers.add(() => driver.status());
    driver.start();
  }
  ctx.logger.info({ devices: drivers.length, file }, 'mqtt ingest started');
  return { name: 'mqtt-ingest', stop: async () => void (await Promise.all(drivers.map((d) => d.stop()))) };
}
