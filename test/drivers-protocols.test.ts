import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseDevices } from '../drivers/config.ts';
import { deviceCommon, tagCommon } from '../drivers/engine/device-schema.ts';
import { createDeviceState } from '../drivers/engine/device-state.ts';
import { defineProtocol } from '../drivers/engine/protocol.ts';
import { PROTOCOLS } from '../drivers/protocols.ts';
import { startDrivers } from '../src/modules/machines/drivers.ts';
import { body, makeGateway, type TestGateway } from './helpers/app.ts';
import { until } from './helpers/server.ts';

// The seam MQTT ingest (and any later protocol) plugs into: a protocol is a schema, a machine
// source and a create function; the gateway does the rest. A fake protocol whose "device" is a
// counter proves it: declared in a device file, its values reach GET /machines.

const fakeSchema = z
  .object({ ...deviceCommon, protocol: z.literal('fake'), tags: z.array(z.object({ ...tagCommon, start: z.number() }).strict()).min(1) })
  .strict();

const fake = defineProtocol({
  protocol: 'fake',
  source: 'mqtt',
  schema: fakeSchema,
  create(device, deps) {
    const state = createDeviceState({
      device: device.name,
      protocol: device.protocol,
      tags: device.tags.map((t) => t.name),
      sink: deps.sink,
      log: deps.logger,
      now: Date.now,
      staleAfterMs: () => 3 * device.poll_interval_ms,
      checkEveryMs: device.poll_interval_ms,
    });
    return {
      name: device.name,
      start() {
        state.setConnected(true);
        state.emit(device.tags.map((t) => ({ tag: t.name, value: t.start * t.scale, quality: 'good', reason: null, sourceTs: Date.now() })));
        state.startAging();
      },
      async stop() {
        state.stopAging();
      },
      status: () => state.status(),
    };
  },
});

let gw: TestGateway;
afterEach(() => gw?.close());

describe('the protocol list', () => {
  it('runs a protocol added as one entry of the protocol list: its readings reach the machine, its status /drivers/status', async () => {
    gw = makeGateway();
    gw.ctx.readings.start();
    const cfg = parseDevices(
      {
        machines: [{ name: 'kiln', machine_type: 'kiln' }],
        devices: [
          { name: 'kiln-feed', protocol: 'fake', machine: 'kiln', tags: [{ name: 'temp', reading_type: 'temperature', unit: '°C', start: 20, scale: 2 }] },
        ],
      },
      'devices.yaml',
      [...PROTOCOLS, fake],
    );
    const drivers = await startDrivers(gw.ctx, cfg);
    try {
      const { token } = await gw.login('manager');
      let machines: Array<{ name: string; source: string; latest: Record<string, { value: number; unit: string; quality: string }> }> = [];
      await until(async () => {
        machines = (await body<typeof machines>(await gw.req('GET', '/machines', { token }))).data;
        return machines[0]?.latest.temperature !== undefined;
      });
      expect(machines).toMatchObject([{ name: 'kiln', source: 'mqtt', latest: { temperature: { value: 40, unit: '°C', quality: 'good' } } }]);
      const status = (await body<Array<Record<string, unknown>>>(await gw.req('GET', '/drivers/status', { token }))).data;
      expect(status).toMatchObject([{ device: 'kiln-feed', protocol: 'fake', kind: 'device', connected: true, tags_total: 1, tags_good: 1 }]);
    } finally {
      await drivers.stop();
    }
  });

  it('names the protocols it knows when a device asks for another', () => {
    expect(() => parseDevices({ devices: [{ name: 'x', protocol: 'fake' }] }, 'devices.yaml')).toThrow(
      "devices.yaml: device 'x': protocol: must be one of modbus-tcp, modbus-rtu, opcua, mqtt",
    );
  });
});
