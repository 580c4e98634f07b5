import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('MQTT configuration', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-mqtt-cfg-'));

  it('is off without MQTT_URL and derives a stable client id from the site', () => {
    expect(loadConfig({}, dir).mqtt).toBeUndefined();
    const c = loadConfig({ MQTT_URL: 'mqtt://broker.local:1883', SITE_ID: '7' }, dir);
    expect(c.mqtt).toMatchObject({ url: 'mqtt://broker.local:1883', clientId: 'gateway-site-7', topicPrefix: 'factory' });
    expect(c.settings.mqtt).toMatchObject({ queue_max: 1_000_000, drain_rate_per_s: 5000, retain_last_values: false });
    expect(loadConfig({ MQTT_URL: 'mqtts://b:8883', MQTT_CLIENT_ID: 'line-2', MQTT_TOPIC_PREFIX: 'acme/uns' }, dir).mqtt).toMatchObject({
      clientId: 'line-2',
      topicPrefix: 'acme/uns',
    });
  });

  it('names the bad key', () => {
    expect(() => loadConfig({ MQTT_URL: 'http://broker:1883' }, dir)).toThrow(/^MQTT_URL: must be an mqtt:\/\//);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://b', MQTT_TOPIC_PREFIX: 'a/#' }, dir)).toThrow(/^MQTT_TOPIC_PREFIX:/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://b', MQTT_TOPIC_PREFIX: '/a' }, dir)).toThrow(/^MQTT_TOPIC_PREFIX:/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://b', MQTT_CLIENT_ID: 'has space' }, dir)).toThrow(/^MQTT_CLIENT_ID:/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://b', MQTT_CA_FILE: 'missing-ca.pem' }, dir)).toThrow(/^MQTT_CA_FILE: file not found/);
    expect(() => loadConfig({ MQTT_CA_FILE: 'ca.pem' }, dir)).toThrow(/^MQTT_CA_FILE: only used with MQTT_URL/);
    expect(() => loadConfig({ MQTT_URL: 'mqtt://b', MQTT_PASSWORD: 'x' }, dir)).toThrow(/^MQTT_USERNAME:/);
    writeFileSync(path.join(dir, 'cert.pem'), 'x');
    expect(() => loadConfig({ MQTT_URL: 'mqtts://b', MQTT_CERT_FILE: 'cert.pem' }, dir)).toThrow(/^MQTT_KEY_FILE:/);
  });

  it('reads the mqtt section of gateway.yaml and reports its bad keys', () => {
    const cfgDir = path.join(dir, 'c');
    mkdirSync(cfgDir);
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'mqtt:\n  queue_max: 5000\n  retain_last_values: true\n');
    expect(loadConfig({ CONFIG_DIR: cfgDir }, dir).settings.mqtt).toMatchObject({ queue_max: 5000, retain_last_values: true, drain_rate_per_s: 5000 });
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'mqtt:\n  drain_rate_per_s: 0\n');
    expect(() => loadConfig({ CONFIG_DIR: cfgDir }, dir)).toThrow(/gateway.yaml: mqtt.drain_rate_per_s/);
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'mqtt:\n  qeue_max: 10\n');
    expect(() => loadConfig({ CONFIG_DIR: cfgDir }, dir)).toThrow(/gateway.yaml: mqtt/);
    // Ingest moved to the devices file; the old key says where.
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'mqtt:\n  ingest_file: mqtt-ingest.yaml\n');
    expect(() => loadConfig({ CONFIG_DIR: cfgDir }, dir)).toThrow(
      /gateway.yaml: mqtt.ingest_file: removed: declare MQTT ingest devices with protocol: mqtt in the devices file/,
    );
  });
});
