import { defineProtocol } from '../engine/protocol.ts';
import { mqttDeviceSchema } from './config.ts';

// A push protocol: machines publish, and each message names its machine (a topic level or a
// payload field), so the device has subscriptions instead of tags. mqtt.js loads only when used.
export const mqtt = defineProtocol({
  protocol: 'mqtt',
  source: 'mqtt',
  schema: mqttDeviceSchema,
  check: (device, host) =>
    device.url === undefined && host.broker?.url === undefined ? { path: ['url'], message: 'required when MQTT_URL is not set' } : undefined,
  create: async (device, deps) => (await import('./driver.ts')).createMqttIngestDriver(device, deps),
});
