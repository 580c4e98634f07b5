import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, topicMatches } from '../../drivers/mqtt/mapping.ts';
import { topicLevel, topicTree } from '../../src/mqtt-publisher/topics.ts';
import { loadDevicesFile } from '../../drivers/config.ts';

describe('MQTT topics and payload mapping', () => {
  it('sanitises names into single topic levels', () => {
    expect(topicLevel('press 1')).toBe('press 1');
    expect(topicLevel('a/b+c#d\u0000e\u007f')).toBe('a_b_c_d_e_');
    expect(topicLevel('')).toBe('_');
    const t = topicTree('acme/uns', 4);
    expect(t.reading('cnc/2', 'temp')).toBe('acme/uns/4/machines/cnc_2/temp');
    expect(t.event('stage')).toBe('acme/uns/4/events/stage');
    expect(t.status).toBe('acme/uns/4/gateway/status');
  });

  it('matches topic filters as a broker does', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('+/b', '$SYS/b')).toBe(false);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
  });

  it('decodes all or nothing', () => {
    const subs = [
      { topic: 'm/+', machine: { segment: 1 }, reading_type: 't', value_path: 'a', unit: 'C' },
      { topic: 'm/+', machine: { segment: 1 }, reading_type: 'p', value_path: 'b' },
    ];
    const good = decodeMessage(subs, 'm/x', Buffer.from('{"a":1,"b":true}'), 1000, 5);
    expect(good).toEqual({
      ok: true,
      readings: [
        { subscription: 0, machine: 'x', readingType: 't', value: 1, unit: 'C', sourceTs: 5 },
        { subscription: 1, machine: 'x', readingType: 'p', value: 1, unit: null, sourceTs: 5 },
      ],
    });
    expect(decodeMessage(subs, 'm/x', Buffer.from('{"a":1,"b":"no"}'), 1000, 5)).toMatchObject({ ok: false, reason: 'wrong_type' });
    expect(decodeMessage(subs, 'm/x', Buffer.from('{"a":1}'), 1000, 5)).toMatchObject({ ok: false, reason: 'missing_field' });
    expect(decodeMessage([{ ...subs[0], value_path: '' } as never], 'm/x', Buffer.from('3.5'), 1000, 5)).toMatchObject({ ok: true });
  });

  it('refuses a bad MQTT device in the devices file with the file, device and key named', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-ingest-cfg-'));
    const file = path.join(dir, 'devices.yaml');
    const broker = { broker: { url: 'mqtt://127.0.0.1:1883', clientId: 'gw' } };
    writeFileSync(
      file,
      'devices:\n  - name: plant\n    protocol: mqtt\n    subscriptions:\n      - topic: a/#/b\n        machine: m\n        reading_type: t\n',
    );
    expect(() => loadDevicesFile(file, broker)).toThrow(/devices\.yaml: device 'plant': subscriptions\.0\.topic: must be an MQTT topic filter/);
    writeFileSync(file, 'devices:\n  - name: plant\n    protocol: mqtt\n    subscriptions: []\n');
    expect(() => loadDevicesFile(file, broker)).toThrow(/device 'plant': subscriptions/);
    writeFileSync(
      file,
      'devices:\n  - name: plant\n    protocol: mqtt\n    subscriptions:\n      - { topic: a/+, machine: { segment: 1 }, reading_type: t }\n',
    );
    // Without its own url a device needs the gateway's broker.
    expect(() => loadDevicesFile(file)).toThrow(/devices\.yaml: device 'plant': url: required when MQTT_URL is not set/);
    expect(loadDevicesFile(file, broker).devices.map((d) => [d.config.name, d.source])).toEqual([['plant', 'mqtt']]);
    writeFileSync(
      file,
      'devices:\n  - name: plant\n    protocol: mqtt\n    tags: []\n    subscriptions:\n      - { topic: a/+, machine: m, reading_type: t }\n',
    );
    expect(() => loadDevicesFile(file, broker)).toThrow(/device 'plant': .*tags/);
    expect(() => loadDevicesFile(path.join(dir, 'none.yaml'))).toThrow(/file not found/);
  });
});
