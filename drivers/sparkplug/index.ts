import { defineProtocol } from '../engine/protocol.ts';
import { sparkplugDeviceSchema } from './config.ts';

// A push protocol: Sparkplug B edge nodes publish births and data, and the gateway is their host
// application; each mapped metric is a tag of a machine. mqtt.js loads only when used.
export const sparkplug = defineProtocol({
  protocol: 'sparkplug',
  source: 'sparkplug',
  schema: sparkplugDeviceSchema,
  check: (device, host) =>
    device.url === undefined && host.broker?.url === undefined ? { path: ['url'], message: 'required when MQTT_URL is not set' } : undefined,
  create: async (device, deps) => (await import('./driver.ts')).createSparkplugIngestDriver(device, deps),
});
