import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { startServe } from '../../helpers/child.ts';
import { uniqueId } from '../../helpers/mqtt-broker.ts';
import { freePort, until } from '../../helpers/server.ts';
import { sparkplugBroker } from './broker.ts';
import { type HostMessage, sparkplugHost, metricValue } from './host.ts';

const broker = await sparkplugBroker();
const bdSeqOf = (m: HostMessage | undefined) => Number(metricValue(m?.payload.metrics?.find((x) => x.name === 'bdSeq') ?? {}));

describe('Sparkplug configuration', () => {
  const load = (vars: Record<string, string>) => loadConfig({ NODE_ENV: 'test', CONFIG_DIR: '/nonexistent', ...vars }, '/tmp');
  const mqtt = { MQTT_URL: 'mqtt://127.0.0.1:1883' };

  it('is off by default; on, the edge node id defaults to site-<SITE_ID>', () => {
    expect(load(mqtt).sparkplug).toBeUndefined();
    expect(load({ ...mqtt, MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: 'plant-1', SITE_ID: '12' }).sparkplug).toEqual({
      groupId: 'plant-1',
      edgeNodeId: 'site-12',
      primaryHostId: undefined,
    });
    expect(
      load({ ...mqtt, MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: 'plant-1', SPARKPLUG_EDGE_NODE_ID: 'line-4', SPARKPLUG_PRIMARY_HOST_ID: 'scada' }).sparkplug,
    ).toEqual({ groupId: 'plant-1', edgeNodeId: 'line-4', primaryHostId: 'scada' });
  });

  it.each([
    [{ MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: 'g' }, 'MQTT_SPARKPLUG: needs MQTT_URL'],
    [{ ...mqtt, MQTT_SPARKPLUG: 'true' }, 'SPARKPLUG_GROUP_ID: required with MQTT_SPARKPLUG=true'],
    [{ ...mqtt, MQTT_SPARKPLUG: 'yes please' }, 'MQTT_SPARKPLUG: must be true or false'],
    [{ ...mqtt, MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: 'a/b' }, 'SPARKPLUG_GROUP_ID: must be 1–64 characters without / + # or whitespace'],
    [{ ...mqtt, MQTT_SPARKPLUG: 'true', SPARKPLUG_GROUP_ID: 'g', SPARKPLUG_EDGE_NODE_ID: 'node#1' }, 'SPARKPLUG_EDGE_NODE_ID: must be 1–64'],
    [{ ...mqtt, SPARKPLUG_GROUP_ID: 'g' }, 'SPARKPLUG_GROUP_ID: only used with MQTT_SPARKPLUG=true'],
  ])('refuses %o with a message naming the key', (vars, message) => {
    expect(() => load(vars)).toThrow(ConfigError);
    expect(() => load(vars)).toThrow(message);
  });
});

describe.skipIf(!broker)('Sparkplug death certificate of a killed gateway process', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sp-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers the NDEATH (the will, with the NBIRTH bdSeq) on kill -9, and a restart continues bdSeq', { timeout: 120_000 }, async () => {
    const group = uniqueId('grp-kill');
    const host = await sparkplugHost(broker?.url ?? '', group);
    const env = async () => ({
      NODE_ENV: 'development',
      DATABASE_PATH: path.join(dir, 'g.db'),
      CONFIG_DIR: path.join(dir, 'config'),
      LOG_LEVEL: 'info',
      SITE_ID: '9',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      ADMIN_PASSWORD: 'sparkplug-admin-pw-1',
      MQTT_URL: broker?.url ?? '',
      MQTT_CLIENT_ID: uniqueId('gw-kill'),
      MQTT_SPARKPLUG: 'true',
      SPARKPLUG_GROUP_ID: group,
    });
    const first = await startServe(await env());
    await until(() => host.of('NBIRTH').length === 1, 30_000);
    const bdSeq = bdSeqOf(host.of('NBIRTH')[0]);
    first.child.kill('SIGKILL');
    await until(() => host.of('NDEATH').length === 1, 30_000);
    expect(host.of('NDEATH')[0]?.topic).toBe(`spBv1.0/${group}/NDEATH/site-9`);
    expect(bdSeqOf(host.of('NDEATH')[0])).toBe(bdSeq);

    const second = await startServe(await env());
    await until(() => host.of('NBIRTH').length === 2, 30_000);
    expect(bdSeqOf(host.of('NBIRTH')[1])).toBe((bdSeq + 1) % 256);
    second.child.kill('SIGTERM');
    // A clean stop sends its NDEATH itself, with that connection's bdSeq.
    await until(() => host.of('NDEATH').length === 2, 30_000);
    expect(bdSeqOf(host.of('NDEATH')[1])).toBe((bdSeq + 1) % 256);
    await host.close();
  });
});
