import type { Database } from 'better-sqlite3';
import { product } from './product.ts';

/** Which change-capture triggers add rows to every write's transaction, as each deployment has them. */
export interface CaptureConfig {
  name: string;
  /** mqtt_outbox triggers (migration 0004): on when MQTT_URL is set. */
  mqtt: boolean;
  /** sync_outbox triggers (migration 0002): on once sync to HQ has been configured. */
  sync: boolean;
}

export const CAPTURE_CONFIGS: CaptureConfig[] = [
  { name: 'plain (no MQTT, no HQ)', mqtt: false, sync: false },
  { name: '+ MQTT queueing (mqtt_outbox triggers)', mqtt: true, sync: false },
  { name: '+ sync capture (sync_outbox triggers)', mqtt: false, sync: true },
  { name: 'MQTT queueing + sync capture', mqtt: true, sync: true },
];

const { setOutboxQueueing } = await product<typeof import('../src/mqtt-publisher/outbox.ts')>('src/mqtt-publisher/outbox');
const { enableCapture } = await product<typeof import('../sync/state.ts')>('sync/state');

/**
 * Switches the triggers as the gateway would: MQTT queueing as with MQTT_URL set (no broker here,
 * so the queue only grows), sync capture as once sync is configured (the first switch enqueues
 * every existing row, before a measured run). Off again for sync is only for the benchmark.
 */
export function applyCapture(sqlite: Database, c: Pick<CaptureConfig, 'mqtt' | 'sync'>): void {
  setOutboxQueueing(sqlite, c.mqtt);
  if (c.sync) enableCapture(sqlite);
  else sqlite.exec('UPDATE sync_state SET capture = 0 WHERE id = 1');
}
