import { afterEach, describe, expect, it } from 'vitest';
import { setOutboxQueueing } from '../../src/mqtt-publisher/outbox.ts';
import { body, makeGateway, rowCount, type TestGateway } from '../helpers/app.ts';

// The MQTT queue is written by triggers in the transaction that stores the reading. When the disk
// is full (here: a max_page_count the database has reached), the reading and its queue row fail
// together: an error answer or a buffered retry, never a reading without its message or the reverse.

let gw: TestGateway;
afterEach(() => gw?.close());

const counts = () => ({ readings: rowCount(gw.ctx, 'machine_readings'), queued: rowCount(gw.ctx, 'mqtt_outbox') });

/** Caps the database at its current size: the next write that needs a new page gets SQLITE_FULL. */
function fillDisk(): void {
  const pages = gw.ctx.store.sqlite.pragma('page_count', { simple: true }) as number;
  gw.ctx.store.sqlite.pragma(`max_page_count = ${pages}`);
}

async function setup(): Promise<{ token: string; machineId: number }> {
  gw = makeGateway();
  setOutboxQueueing(gw.ctx.store.sqlite, true); // as with MQTT_URL set
  const { token } = await gw.login('admin');
  const res = await gw.req('POST', '/machines', { token, body: { name: 'full-m', machine_type: 'press' } });
  const machineId = (await body<{ id: number }>(res)).data.id;
  expect((await gw.req('POST', `/machines/${machineId}/readings`, { token, body: { reading_type: 't', value: 1 } })).status).toBe(201);
  return { token, machineId };
}

const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ reading_type: `r${i % 50}`, value: i }));

describe('disk full while the MQTT queue is written', () => {
  it('answers 503 UNAVAILABLE to an HTTP reading and stores neither the reading nor its queue row', async () => {
    const { token, machineId } = await setup();
    const before = counts();
    expect(before).toEqual({ readings: 1, queued: 2 }); // the machine's event and the reading
    fillDisk();
    const res = await gw.req('POST', `/machines/${machineId}/readings`, { token, body: batch(1000) });
    expect(res.status).toBe(503);
    expect((await body(res)).error.code).toBe('UNAVAILABLE');
    expect(counts()).toEqual(before);
    expect(await (await gw.req('GET', '/metrics', { token })).text()).toMatch(/^gateway_storage_faults_total\{code="SQLITE_FULL"\} [1-9]/m);
    // Space again: the same request succeeds, each reading with its queued message.
    gw.ctx.store.sqlite.pragma('max_page_count = 1073741823');
    expect((await gw.req('POST', `/machines/${machineId}/readings`, { token, body: batch(1000) })).status).toBe(201);
    expect(counts()).toEqual({ readings: 1001, queued: 1002 });
  });

  it('keeps driver readings buffered while the disk is full and writes them with their queue rows once it is not', async () => {
    const { machineId } = await setup();
    const before = counts();
    fillDisk();
    gw.ctx.readings.push(
      batch(2000).map((r, i) => ({ machineId, readingType: r.reading_type, value: r.value, unit: null, quality: 'good', reason: null, sourceTs: 1_000 + i })),
      'modbus',
    );
    expect(() => gw.ctx.readings.flush()).not.toThrow();
    expect(counts()).toEqual(before);
    gw.ctx.store.sqlite.pragma('max_page_count = 1073741823');
    gw.ctx.readings.flush();
    expect(counts()).toEqual({ readings: before.readings + 2000, queued: before.queued + 2000 });
  });
});
