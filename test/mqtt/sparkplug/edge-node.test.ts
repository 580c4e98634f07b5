import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeGateway, type TestGateway } from '../../helpers/app.ts';
import { type TestBroker, tcpProxy, uniqueId } from '../../helpers/mqtt-broker.ts';
import { freePort, until } from '../../helpers/server.ts';
import { ModbusSim } from '../../sim/modbus-sim.ts';
import { parseDevices } from '../../../drivers/config.ts';
import { startDrivers } from '../../../src/modules/machines/drivers.ts';
import { ensureMachine } from '../../../src/modules/machines/service.ts';
import { startSparkplug } from '../../../src/sparkplug/service.ts';
import type { EdgeNodeOptions } from '../../../src/sparkplug/edge-node.ts';
import type { Quality } from '../../../src/core/vocabulary.ts';
import { sparkplugBroker } from './broker.ts';
import { DATATYPE, encode, type HostMessage, metricValue, propertiesOf, sparkplugHost } from './host.ts';

const broker: TestBroker | undefined = await sparkplugBroker();

/** seq of every message after an NBIRTH runs on by one, 255 → 0. */
function expectContinuousSeq(messages: HostMessage[]) {
  const seqs = messages.filter((m) => m.type !== 'NDEATH').map((m) => ({ type: m.type, seq: m.payload.seq }));
  for (const [i, s] of seqs.entries()) {
    if (s.type === 'NBIRTH') expect(s.seq).toBe(0);
    else expect(s.seq, `message ${i} (${s.type})`).toBe(((seqs[i - 1]?.seq ?? -1) + 1) % 256);
  }
}

const bdSeqOf = (m: HostMessage | undefined) => Number(metricValue(m?.payload.metrics?.find((x) => x.name === 'bdSeq') ?? {}));

describe.skipIf(!broker)('Sparkplug B edge node against Mosquitto, decoded by an independent host', () => {
  const url = () => broker?.url ?? '';
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  beforeAll(async () => {
    proxy = await tcpProxy(url());
  });
  afterAll(async () => {
    await proxy.close();
  });

  /** An in-process gateway whose edge node talks to the broker through the proxy. */
  const edgeGateway = async (extra: Record<string, string> = {}, opts: EdgeNodeOptions = {}, gatewayYaml?: string) => {
    const group = uniqueId('grp');
    const g: TestGateway = makeGateway(
      {
        MQTT_URL: proxy.url,
        MQTT_CLIENT_ID: uniqueId('gw'),
        MQTT_SPARKPLUG: 'true',
        SPARKPLUG_GROUP_ID: group,
        SITE_ID: '7',
        ...extra,
      },
      undefined,
      gatewayYaml,
    );
    const admin = await g.login('admin');
    const machine = async (name: string) => {
      const id = ensureMachine(g.ctx, { name, machine_type: 'press' }, 'modbus');
      // A driver-fed machine that is offline has lost its device; idle: its device answers.
      await g.req('PATCH', `/machines/${id}`, { token: admin.token, body: { status: 'idle' } });
      return id;
    };
    const push = (
      machineId: number,
      readingType: string,
      value: number | null,
      quality: Quality = 'good',
      sourceTs = Date.now(),
      reason: string | null = null,
    ) => {
      g.ctx.readings.push([{ machineId, readingType, value, unit: 'bar', quality, reason, sourceTs }], 'modbus');
      g.ctx.readings.flush();
    };
    const running = { sp: undefined as Awaited<ReturnType<typeof startSparkplug>> | undefined };
    const start = async () => {
      running.sp = await startSparkplug(g.ctx, { pollMs: 20, ...opts });
    };
    const stop = async () => {
      await running.sp?.stop();
      g.close();
    };
    return { g, group, node: 'site-7', admin, machine, push, start, stop, status: () => running.sp?.node?.status() };
  };

  it('publishes NBIRTH first (seq 0, bdSeq, node metrics), a DBIRTH describing every reading type, DDATA by alias, continuous seq, and a rebirth on NCMD', async () => {
    const e = await edgeGateway();
    const press = await e.machine('press 1');
    e.push(press, 'temp', 20.5, 'good', Date.now() - 60_000);
    e.push(press, 'pressure', 3, 'good', Date.now() - 60_000);
    const host = await sparkplugHost(url(), e.group);
    await e.start();
    await until(() => host.of('DBIRTH').length === 1);

    const [first] = host.messages;
    expect(first?.type).toBe('NBIRTH');
    expect(first?.payload.seq).toBe(0);
    const nodeMetrics = Object.fromEntries((first?.payload.metrics ?? []).map((m) => [m.name, m]));
    expect(Object.keys(nodeMetrics).sort()).toEqual(['Gateway/Queue Depth', 'Gateway/Status', 'Gateway/Sync Backlog', 'Node Control/Rebirth', 'bdSeq']);
    expect(nodeMetrics['Node Control/Rebirth']).toMatchObject({ datatype: DATATYPE.Boolean, booleanValue: false });
    expect(nodeMetrics.bdSeq?.datatype).toBe(DATATYPE.Int64);
    expect(metricValue(nodeMetrics['Gateway/Status'] ?? {})).toBe('online');

    // The device id is the machine name as one topic level; every reading type is a metric with
    // its datatype, alias, current value and source timestamp.
    const dbirth = host.of('DBIRTH')[0];
    expect(dbirth?.topic).toBe(`spBv1.0/${e.group}/DBIRTH/site-7/press 1`);
    const born = Object.fromEntries((dbirth?.payload.metrics ?? []).map((m) => [m.name, m]));
    expect(Object.keys(born).sort()).toEqual(['pressure', 'temp']);
    expect(born.temp).toMatchObject({ datatype: DATATYPE.Double, doubleValue: 20.5, alias: expect.any(Number), timestamp: expect.any(Number) });
    expect(propertiesOf(born.temp ?? {})).toMatchObject({ Quality: 192, 'Engineering Units': 'bar' });
    const aliases = (dbirth?.payload.metrics ?? []).map((m) => m.alias);
    expect(new Set([...aliases, ...(first?.payload.metrics ?? []).map((m) => m.alias)]).size).toBe(aliases.length + 5);

    // Live values: DDATA carries aliases only, with the source timestamp; bad quality is a property.
    const ts = Date.now() - 5000;
    e.push(press, 'temp', 21.25, 'good', ts);
    e.push(press, 'pressure', null, 'bad', ts + 1, 'read timeout');
    await until(() => host.of('DDATA').flatMap((m) => m.payload.metrics ?? []).length >= 2);
    const data = host.of('DDATA').flatMap((m) => m.payload.metrics ?? []);
    for (const m of data) expect(m.name).toBeUndefined();
    const temp = data.find((m) => m.alias === born.temp?.alias);
    expect(temp).toMatchObject({ doubleValue: 21.25, timestamp: ts });
    expect(temp?.isHistorical).toBeUndefined();
    const pressure = data.find((m) => m.alias === born.pressure?.alias);
    expect(pressure).toMatchObject({ isNull: true, timestamp: ts + 1 });
    expect(propertiesOf(pressure ?? {})).toEqual({ Quality: 0, 'Quality Reason': 'read timeout' });
    // Acknowledged values leave the queue.
    await until(() => e.g.ctx.store.sqlite.prepare('SELECT count(*) FROM sparkplug_outbox').pluck().get() === 0);

    // A host asks for a rebirth: NBIRTH again (seq 0, same bdSeq: no reconnect), DBIRTH with current values.
    const bdSeq = bdSeqOf(first);
    const before = host.messages.length;
    await host.rebirth('site-7');
    await until(() => host.messages.slice(before).some((m) => m.type === 'DBIRTH'));
    // (An NDATA with the node's figures may come before it.)
    const reborn = host.messages.slice(before).filter((_m, i, all) => i >= all.findIndex((x) => x.type === 'NBIRTH'));
    expect(reborn[0]?.type).toBe('NBIRTH');
    expect(bdSeqOf(reborn[0])).toBe(bdSeq);
    const rebornTemp = reborn[1]?.payload.metrics?.find((m) => m.name === 'temp');
    expect(rebornTemp?.doubleValue).toBe(21.25);

    // A machine that appears later is born before its first data.
    const lathe = await e.machine('lathe');
    e.push(lathe, 'rpm', 1200);
    await until(() => host.messages.some((m) => m.type === 'DDATA' && m.device === 'lathe'));
    const latheMessages = host.messages.filter((m) => m.device === 'lathe').map((m) => m.type);
    expect(latheMessages.slice(0, 2)).toEqual(['DBIRTH', 'DDATA']);

    // Its driver loses the device: DDEATH; found again: DBIRTH.
    await e.g.req('PATCH', `/machines/${lathe}`, { token: e.admin.token, body: { status: 'offline' } });
    await until(() => host.messages.some((m) => m.type === 'DDEATH' && m.device === 'lathe'));
    await e.g.req('PATCH', `/machines/${lathe}`, { token: e.admin.token, body: { status: 'idle' } });
    await until(() => host.messages.filter((m) => m.type === 'DBIRTH' && m.device === 'lathe').length === 2);

    expect(host.messages.filter((m) => m.type === 'UNDECODABLE')).toEqual([]);
    expectContinuousSeq(host.messages);
    await e.stop();
    // A clean stop publishes the NDEATH itself (no will on a clean disconnect), with the same bdSeq.
    await until(() => host.of('NDEATH').length === 1);
    expect(bdSeqOf(host.of('NDEATH')[0])).toBe(bdSeq);
    await host.close();
  });

  it('wraps seq after 255', async () => {
    const e = await edgeGateway({}, { metricsPerMessage: 1 });
    const m = await e.machine('counter');
    e.push(m, 'count', 0);
    const host = await sparkplugHost(url(), e.group);
    await e.start();
    await until(() => host.of('DBIRTH').length === 1);
    for (let i = 1; i <= 300; i++) e.push(m, 'count', i);
    await until(() => host.of('DDATA').length >= 300, 30_000);
    expect(host.of('DDATA').map((d) => metricValue(d.payload.metrics?.[0] ?? {}))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(host.messages.map((x) => x.payload.seq)).toContain(255);
    expectContinuousSeq(host.messages);
    await e.stop();
    await host.close();
  });

  it('keeps values through a broker outage: NDEATH by the will, then a new bdSeq, births first and the backlog as historical values, in order', async () => {
    const e = await edgeGateway();
    const m = await e.machine('oven');
    e.push(m, 'temp', 100);
    const host = await sparkplugHost(url(), e.group);
    await e.start();
    await until(() => host.of('DBIRTH').length === 1);
    const firstBd = bdSeqOf(host.of('NBIRTH')[0]);
    for (let i = 1; i <= 20; i++) e.push(m, 'temp', 100 + i);
    await until(() => host.of('DDATA').flatMap((d) => d.payload.metrics ?? []).length >= 20);
    await until(() => e.status()?.queueDepth === 0);

    await proxy.down();
    await until(() => host.of('NDEATH').length === 1);
    expect(bdSeqOf(host.of('NDEATH')[0])).toBe(firstBd);
    for (let i = 21; i <= 60; i++) e.push(m, 'temp', 100 + i);
    expect(e.status()?.queueDepth).toBe(40);
    const outageStart = host.messages.length;
    await proxy.up();
    await until(() => host.messages.slice(outageStart).flatMap((d) => (d.type === 'DDATA' ? (d.payload.metrics ?? []) : [])).length >= 40, 30_000);

    const after = host.messages.slice(outageStart);
    expect(after[0]?.type).toBe('NBIRTH');
    expect(bdSeqOf(after[0])).toBe((firstBd + 1) % 256);
    expect(after[1]?.type).toBe('DBIRTH');
    const values = after.filter((d) => d.type === 'DDATA').flatMap((d) => d.payload.metrics ?? []);
    expect(values.map(metricValue)).toEqual(Array.from({ length: 40 }, (_, i) => 121 + i));
    for (const v of values) expect(v.isHistorical).toBe(true);
    expectContinuousSeq(after);
    await until(() => e.status()?.queueDepth === 0);
    await e.stop();
    await host.close();
  });

  it('sends nothing ahead of the births when values were in flight at a drop: they follow the births as historical', async () => {
    const e = await edgeGateway();
    const m = await e.machine('saw');
    const host = await sparkplugHost(url(), e.group);
    await e.start();
    await until(() => host.of('DBIRTH').length === 0 && host.of('NBIRTH').length === 1);
    e.push(m, 'cuts', 0);
    await until(() => host.of('DDATA').length === 1);
    // Values published and cut off before their PUBACK: mqtt.js must not resend them first on reconnect.
    for (let i = 1; i <= 200; i++) e.push(m, 'cuts', i);
    await until(() => (e.status()?.published ?? 0) > 0 && host.of('DDATA').length >= 1);
    await proxy.down();
    await until(() => host.of('NDEATH').length === 1);
    await proxy.up();
    await until(() => new Set(host.of('DDATA').flatMap((d) => (d.payload.metrics ?? []).map(metricValue))).size === 201, 30_000);

    const death = host.messages.findIndex((x) => x.type === 'NDEATH');
    const afterDeath = host.messages.slice(death + 1);
    expect(afterDeath[0]?.type).toBe('NBIRTH');
    expectContinuousSeq(afterDeath);
    const resent = afterDeath.filter((x) => x.type === 'DDATA').flatMap((d) => d.payload.metrics ?? []);
    expect(resent.length).toBeGreaterThan(0);
    for (const v of resent) expect(v.isHistorical).toBe(true);
    // Each value's first delivery comes in order.
    const firstSeen = [...new Set(host.of('DDATA').flatMap((d) => (d.payload.metrics ?? []).map(metricValue)))];
    expect(firstSeen).toEqual(Array.from({ length: 201 }, (_, i) => i));
    await e.stop();
    await host.close();
  });

  it('drops the oldest queued values over mqtt.queue_max, counts them, and shrugs off garbage commands', async () => {
    const e = await edgeGateway({}, {}, 'mqtt:\n  queue_max: 100\n');
    const m = await e.machine('kiln');
    const host = await sparkplugHost(url(), e.group);
    await proxy.down();
    try {
      await e.start();
      for (let i = 1; i <= 150; i++) e.push(m, 'temp', i);
      await until(() => e.status()?.dropped === 50);
      expect(e.status()?.queueDepth).toBe(100);
      const entry = e.g.ctx.statusBoard.entries().find((d) => d.device === 'sparkplug-edge-node');
      expect(entry).toMatchObject({ protocol: 'sparkplug', connected: false, queue_depth: 100, dropped: 50 });
    } finally {
      await proxy.up();
    }
    await until(() => host.of('DDATA').flatMap((d) => d.payload.metrics ?? []).length >= 100);
    expect(host.of('DDATA').flatMap((d) => (d.payload.metrics ?? []).map(metricValue))).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));

    // Not Sparkplug, an empty payload, a rebirth set to false: ignored; a real rebirth still works.
    const ncmd = `spBv1.0/${e.group}/NCMD/site-7`;
    for (const junk of [
      Buffer.from('garbage \u0000\u00ff'),
      Buffer.alloc(0),
      encode({ metrics: [{ name: 'Node Control/Rebirth', datatype: DATATYPE.Boolean, booleanValue: false }] }),
    ])
      await host.client.publishAsync(ncmd, junk, { qos: 1 });
    const births = host.of('NBIRTH').length;
    await host.rebirth('site-7');
    await until(() => host.of('NBIRTH').length === births + 1);
    expect(e.status()?.rebirths).toBe(1);
    // A burst of requests right after a birth: coalesced, not one full rebirth each.
    const beforeBurst = host.of('NBIRTH').length;
    for (let i = 0; i < 10; i++) await host.rebirth('site-7');
    await until(() => e.status()?.rebirths === 11);
    await until(() => host.of('NBIRTH').length > beforeBurst);
    await new Promise((r) => setTimeout(r, 1500));
    expect(host.of('NBIRTH').length - beforeBurst).toBeLessThanOrEqual(2);
    await e.stop();
    await host.close();
  });

  it('publishes DDEATH when a Modbus driver loses its device and DBIRTH when it answers again', async () => {
    const e = await edgeGateway();
    const sim = new ModbusSim(await freePort());
    sim.holding[10] = 1234;
    await sim.start();
    const host = await sparkplugHost(url(), e.group);
    await e.start();
    const cfg = parseDevices({
      machines: [{ name: 'mill', machine_type: 'mill' }],
      devices: [
        {
          name: 'mill-plc',
          protocol: 'modbus-tcp',
          host: '127.0.0.1',
          port: sim.port,
          machine: 'mill',
          poll_interval_ms: 50,
          timeout_ms: 200,
          reconnect: { initial_ms: 50, max_ms: 200 },
          tags: [{ name: 'spindle', reading_type: 'spindle_rpm', area: 'holding', address: 10 }],
        },
      ],
    });
    e.g.ctx.readings.start(); // the batch writer flushes driver readings on its own timer, as in the gateway
    const drivers = await startDrivers(e.g.ctx, cfg);
    try {
      await until(() => host.messages.some((m) => m.type === 'DDATA' || (m.type === 'DBIRTH' && m.device === 'mill')));
      expect(host.messages.find((m) => m.device === 'mill')?.type).toBe('DBIRTH');
      await sim.stop();
      await until(() => host.messages.some((m) => m.type === 'DDEATH' && m.device === 'mill'));
      const deathAt = host.messages.findIndex((m) => m.type === 'DDEATH');
      // Nothing of the dead device until it is born again.
      await sim.start();
      await until(() => host.messages.slice(deathAt).some((m) => m.type === 'DBIRTH' && m.device === 'mill'), 30_000);
      const after = host.messages.slice(deathAt + 1).filter((m) => m.device === 'mill');
      expect(after[0]?.type).toBe('DBIRTH');
      // Born the moment the device answers, before its first poll: the current value is still the
      // bad "not connected" one, then the poll's value follows as data.
      expect(after[0]?.payload.metrics?.map((x) => x.name)).toEqual(['spindle_rpm']);
      await until(() =>
        host.messages.slice(deathAt).some((m) => m.type === 'DDATA' && m.device === 'mill' && m.payload.metrics?.some((x) => metricValue(x) === 1234)),
      );
      expectContinuousSeq(host.messages);
    } finally {
      await drivers.stop();
      await sim.stop();
    }
    await e.stop();
    await host.close();
  });

  it('holds data while the primary host is offline (STATE) and publishes it as historical on its return', async () => {
    const hostId = uniqueId('scada');
    const e = await edgeGateway({ SPARKPLUG_PRIMARY_HOST_ID: hostId });
    const m = await e.machine('mixer');
    const host = await sparkplugHost(url(), e.group, { hostId });
    await host.state(false);
    await e.start();
    await until(() => e.status()?.connected === true);
    for (let i = 1; i <= 5; i++) e.push(m, 'speed', i);
    await new Promise((r) => setTimeout(r, 300));
    expect(host.messages).toEqual([]);
    expect(e.status()?.queueDepth).toBe(5);

    await host.state(true);
    await until(() => host.of('DDATA').flatMap((d) => d.payload.metrics ?? []).length >= 5);
    expect(host.messages.slice(0, 2).map((x) => x.type)).toEqual(['NBIRTH', 'DBIRTH']);
    const values = host.of('DDATA').flatMap((d) => d.payload.metrics ?? []);
    expect(values.map(metricValue)).toEqual([1, 2, 3, 4, 5]);
    for (const v of values) expect(v.isHistorical).toBe(true);
    await e.stop();
    await host.close();
  });
});
