import { type TestBroker, testBroker } from '../../helpers/mqtt-broker.ts';

/**
 * The Sparkplug suites run against a real broker (Mosquitto, or TEST_MQTT_URL), not the in-process
 * aedes: the will on a killed process and clean-session rules are the broker's. Without one they
 * are skipped with a message, except in CI, where a missing broker fails them.
 */
export async function sparkplugBroker(): Promise<TestBroker | undefined> {
  if (process.env.TEST_MQTT_BROKER === 'aedes') return undefined;
  const broker = await testBroker();
  if (broker.kind === 'external') return broker;
  await broker.close();
  if (process.env.CI) throw new Error('Sparkplug tests need Mosquitto (TEST_MQTT_URL or 127.0.0.1:1883); none answers');
  console.warn('Sparkplug tests skipped: no MQTT broker answers at TEST_MQTT_URL or 127.0.0.1:1883 (start Mosquitto to run them)');
  return undefined;
}
