import { defineProtocol } from '../engine/protocol.ts';
import { opcuaSchema } from './config.ts';

// node-opcua is large and slow to load: only a config with an OPC UA device pays for it.
export const opcua = defineProtocol({
  protocol: 'opcua',
  source: 'opcua',
  schema: opcuaSchema,
  create: async (device, deps) => (await import('./driver.ts')).createOpcuaDriver(device, deps),
});
