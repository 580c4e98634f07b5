import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDevices } from '../../../drivers/config.ts';
import { startDrivers } from '../../../src/modules/machines/drivers.ts';
import { makeGateway, type TestGateway } from '../../helpers/app.ts';
import { uniqueId } from '../../helpers/mqtt-broker.ts';
import { until } from '../../helpers/server.ts';
import { sparkplugBroker } from './broker.ts';
import { DATATYPE, decode, encode, type HostMetric } from './host.ts';

const broker = await sparkplugBroker();

/**
 * A Sparkplug edge node simulated with the test's own encoder (protobufjs and the official .proto):
 * device `press` with metrics temp (alias 1, Double), rpm (2, Int32) and mode (3, String).
 */
async function simulatedEdgeNode(url: string, group: string, node: string) {
  const bdSeq = 0;
  let seq = 0;
  const topic = (type: string, device?: string) => `spBv1.0/${group}/${type}/${node}${device ? `/${device}` : ''}`;
  const death = () => encode({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', datatype: DATATYPE.Int64, longValue: bdSeq }] });
  const client: MqttClient = await connectAsync(url, {
    clientId: uniqueId('sim-node'),
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { topic: topic('NDEATH'), payload: death(), qos: 1, retain: false },
  });
  const rebirthRequests: number[] = [];
  const values = { temp: 20, rpm: 1000 };
  const publish = (type: string, metrics: HostMetric[], device?: string, seqOverride?: number) => {
    const s = seqOverride ?? seq;
    seq = (s + 1) % 256;
    return client.publishAsync(topic(type, device), encode({ timestamp: Date.now(), seq: s, metrics }), { qos: 1 });
  };
  const birth = async () => {
    seq = 0;
    await publish('NBIRTH', [
      { name: 'bdSeq', datatype: DATATYPE.Int64, longValue: bdSeq },
      { name: 'Node Control/Rebirth', datatype: DATATYPE.Boolean, booleanValue: false },
    ]);
    await publish(
      'DBIRTH',
      [
        { name: 'temp', alias: 1, datatype: DATATYPE.Double, doubleValue: values.temp, timestamp: Date.now() },
        { name: 'rpm', alias: 2, datatype: DATATYPE.Int32, intValue: values.rpm, timestamp: Date.now() },
        { name: 'mode', alias: 3, datatype: DATATYPE.String, stringValue: 'auto', timestamp: Date.now() },
      ],
      'press',
    );
  };
  client.on('message', (_t, payload) => {
    const cmd = decode(payload);
    if (cmd.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.booleanValue === true)) {
      rebirthRequests.push(Date.now());
      void birth();
    }
  });
  await client.subscribeAsync(topic('NCMD'), { qos: 1 });
  return {
    rebirthRequests,
    values,
    birth,
    data: (metrics: HostMetric[], seqOverride?: number) => publish('DDATA', metrics, 'press', seqOverride),
    raw: (type: string, payload: Buffer) => client.publishAsync(topic(type, 'press'), payload, { qos: 1 }),
    /** A birth or data of another device of this edge node. */
    other: (type: string, device: string, metrics: HostMetric[]) => publish(type, metrics, device),
    deviceDeath: () => publish('DDEATH', [], 'press'),
    /** The process vanishes: the broker publishes its will (NDEATH). */
    vanish: () => client.stream.destroy(),
    close: () => client.endAsync(true),
  };
}

describe.skipIf(!broker)('Sparkplug ingest: the gateway as host application of a simulated edge node', () => {
  const group = uniqueId('grp-in');
  const node = 'sim-1';
  let g: TestGateway;
  let sim: Awaited<ReturnType<typeof simulatedEdgeNode>>;
  let drivers: Awaited<ReturnType<typeof startDrivers>>;
  const rows = (readingType: string) =>
    g.ctx.store.sqlite
      .prepare(
        "SELECT value, quality, reason, source_ts AS ts FROM machine_readings r JOIN machines m ON m.id = r.machine_id WHERE m.name = 'press-1' AND reading_type = ? ORDER BY r.id",
      )
      .all(readingType) as Array<{ value: number | null; quality: string; reason: string | null; ts: number }>;
  const rejected = async (reason: string) => {
    const metric = await g.ctx.metrics.registry.getSingleMetric('gateway_sparkplug_ingest_rejected_total')?.get();
    return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  };
  const settle = async () => {
    g.ctx.readings.flush();
    await new Promise((r) => setTimeout(r, 20));
    g.ctx.readings.flush();
  };

  beforeAll(async () => {
    sim = await simulatedEdgeNode(broker?.url ?? '', group, node);
    g = makeGateway({}, undefined, 'devices_file: devices.yaml\n');
    const doc = {
      machines: [{ name: 'press-1', machine_type: 'press' }],
      devices: [
        {
          name: 'scada-line',
          protocol: 'sparkplug',
          url: broker?.url,
          client_id: uniqueId('gw-sp-in'),
          group_id: group,
          rebirth_interval_s: 1,
          log_interval_s: 3600,
          devices: [{ edge_node: node, device: 'press', machine: 'press-1', metrics: { temp: 'temperature', rpm: { reading_type: 'speed', unit: 'rpm' } } }],
        },
      ],
    };
    writeFileSync(path.join(g.dir, 'config', 'devices.yaml'), JSON.stringify(doc));
    drivers = await startDrivers(g.ctx, parseDevices(doc, 'devices.yaml'));
  });
  afterAll(async () => {
    await drivers?.stop();
    await sim?.close();
    g?.close();
  });

  it('asks for a rebirth on connect and stores the DBIRTH values of mapped metrics', async () => {
    await until(() => sim.rebirthRequests.length >= 1);
    await until(async () => {
      await settle();
      return rows('temperature').length > 0 && rows('speed').length > 0;
    });
    expect(rows('temperature')[0]).toMatchObject({ value: 20, quality: 'good' });
    expect(rows('speed')[0]).toMatchObject({ value: 1000, quality: 'good' });
    // mode is not mapped: nothing stored for it.
    expect(g.ctx.store.sqlite.prepare("SELECT count(*) FROM machine_readings WHERE reading_type = 'mode'").pluck().get()).toBe(0);
  });

  it('stores DDATA by alias with the source timestamp and the Quality property', async () => {
    const ts = Date.now() - 2000;
    await sim.data([
      { alias: 1, datatype: DATATYPE.Double, doubleValue: 30.5, timestamp: ts },
      {
        alias: 2,
        datatype: DATATYPE.Int32,
        isNull: true,
        timestamp: ts,
        properties: {
          keys: ['Quality', 'Quality Reason'],
          values: [
            { type: DATATYPE.Int32, intValue: 0 },
            { type: DATATYPE.String, stringValue: 'sensor fault' },
          ],
        },
      },
    ]);
    await until(async () => {
      await settle();
      return rows('temperature').some((r) => r.value === 30.5);
    });
    expect(rows('temperature').at(-1)).toMatchObject({ value: 30.5, quality: 'good', ts });
    await until(async () => {
      await settle();
      return rows('speed').some((r) => r.quality === 'bad');
    });
    expect(rows('speed').at(-1)).toMatchObject({ value: null, quality: 'bad', reason: 'sensor fault', ts });
  });

  it('requests a rebirth on a seq gap and on an alias it has no birth for; garbage is counted, never fatal', async () => {
    const before = sim.rebirthRequests.length;
    await new Promise((r) => setTimeout(r, 1100)); // rebirth_interval_s: 1
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 31, timestamp: Date.now() }], 200);
    await until(() => sim.rebirthRequests.length === before + 1);
    // The gap's own values are still good data.
    await until(async () => {
      await settle();
      return rows('temperature').some((r) => r.value === 31);
    });

    await new Promise((r) => setTimeout(r, 1100));
    await sim.data([{ alias: 99, datatype: DATATYPE.Double, doubleValue: 1, timestamp: Date.now() }]);
    await until(() => sim.rebirthRequests.length === before + 2);
    expect(await rejected('unknown_alias')).toBeGreaterThanOrEqual(1);

    await sim.raw('DDATA', Buffer.from('not protobuf at all \u0000\u00ff'));
    await until(async () => (await rejected('malformed_payload')) === 1);
    // Still working after the rebirth: new data is stored.
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 42, timestamp: Date.now() }]);
    await until(async () => {
      await settle();
      return rows('temperature').some((r) => r.value === 42);
    });
  });

  it('a metric timestamp outside 2000 … now + 5 min is dropped as bad_timestamp; the machine pages keep answering', async () => {
    const admin = await g.login('admin');
    const machineId = g.ctx.store.sqlite.prepare("SELECT id FROM machines WHERE name = 'press-1'").pluck().get() as number;
    const before = await rejected('bad_timestamp');
    // 9e16 ms lies beyond what a date can be (8.64e15); an hour ahead would stay "latest" for an hour.
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 66.6, timestamp: 9e16 }]);
    await until(async () => (await rejected('bad_timestamp')) === before + 1);
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 77.7, timestamp: Date.now() + 3_600_000 }]);
    await until(async () => (await rejected('bad_timestamp')) === before + 2);
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 5.5, timestamp: Date.parse('1999-12-31T23:59:59Z') }]);
    await until(async () => (await rejected('bad_timestamp')) === before + 3);
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 43, timestamp: Date.now() }]);
    await until(async () => {
      await settle();
      return rows('temperature').some((r) => r.value === 43);
    });
    expect(rows('temperature').filter((r) => [66.6, 77.7, 5.5].includes(r.value ?? 0))).toEqual([]);
    for (const url of [`/machines/${machineId}`, '/machines', `/machines/${machineId}/readings?reading_type=temperature`]) {
      const res = await g.req('GET', url, { token: admin.token });
      expect(res.status, url).toBe(200);
    }
    const machine = (await (await g.req('GET', `/machines/${machineId}`, { token: admin.token })).json()) as { data: unknown };
    expect(JSON.stringify(machine.data)).toContain('43');
  });

  it('births and data of devices no mapping names are ignored: no rebirth asked, nothing counted', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // rebirth_interval_s: 1, so a request would not be held back
    const rebirths = sim.rebirthRequests.length;
    const unknown = await rejected('unknown_alias');
    await sim.other('DDATA', 'robot', [{ alias: 7, datatype: DATATYPE.Double, doubleValue: 1, timestamp: Date.now() }]);
    await sim.other('DBIRTH', 'robot', [{ name: 'x', alias: 7, datatype: DATATYPE.Double, doubleValue: 1, timestamp: Date.now() }]);
    await sim.other('DDATA', 'robot', [{ alias: 8, datatype: DATATYPE.Double, doubleValue: 2, timestamp: Date.now() }]);
    // Mapped data sent after them arrives, so they were all handled.
    await sim.data([{ alias: 1, datatype: DATATYPE.Double, doubleValue: 44, timestamp: Date.now() }]);
    await until(async () => {
      await settle();
      return rows('temperature').some((r) => r.value === 44);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.rebirthRequests.length).toBe(rebirths);
    expect(await rejected('unknown_alias')).toBe(unknown);
  });

  it('marks the device tags bad on DDEATH and on NDEATH (the will of a vanished edge node)', async () => {
    await sim.deviceDeath();
    await until(async () => {
      await settle();
      return rows('temperature').at(-1)?.quality === 'bad';
    });
    expect(rows('temperature').at(-1)?.reason).toBe('device death (DDEATH)');

    await sim.birth();
    await until(async () => {
      await settle();
      return rows('temperature').at(-1)?.quality === 'good';
    });
    sim.vanish();
    await until(async () => {
      await settle();
      return rows('speed').at(-1)?.reason === 'edge node death (NDEATH)';
    });
    expect(rows('temperature').at(-1)).toMatchObject({ quality: 'bad', reason: 'edge node death (NDEATH)' });
    const status = g.ctx.statusBoard.entries().find((d) => d.device === 'scada-line');
    expect(status).toMatchObject({ protocol: 'sparkplug', connected: true, tags_total: 2, tags_bad: 2 });
  });
});
