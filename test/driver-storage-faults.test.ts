import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeviceState } from '../drivers/engine/device-state.ts';
import type { DriverLogger, Sample } from '../drivers/engine/types.ts';
import { deviceSink } from '../src/modules/machines/driver-sink.ts';
import { createMachine, getMachine } from '../src/modules/machines/service.ts';
import { makeGateway, type TestGateway } from './helpers/app.ts';

// What the drivers' side of the gateway does while its database refuses writes (here another
// connection holds the write lock, as a stuck tool would; a full disk fails the same way): nothing
// is taken for stored that was not, and everything goes on once storage works again.

let gw: TestGateway | undefined;
afterEach(() => {
  gw?.close();
  gw = undefined;
});

/** Holds SQLite's write lock from another connection until the returned function is called. */
function lockWrites(g: TestGateway): () => void {
  const other = new Sqlite(path.join(g.dir, 'gateway.db'));
  other.prepare('BEGIN IMMEDIATE').run();
  return () => {
    other.prepare('ROLLBACK').run();
    other.close();
  };
}

const sample = (tag: string, value: number, sourceTs: number): Sample => ({ tag, value, quality: 'good', reason: null, sourceTs });

describe('drivers while storage fails', () => {
  it('writes a mapped machine status the device keeps reporting once storage works again', () => {
    const g = makeGateway();
    gw = g;
    const machine = g.ctx.store.commandNow((tx) => createMachine(g.ctx, tx, undefined, { name: 'press-1', machine_type: 'press' }));
    const sink = deviceSink(
      g.ctx,
      {
        name: 'plc-1',
        protocol: 'modbus-tcp',
        machine: 'press-1',
        status: { tag: 'state', map: { '1': 'running', '0': 'down' } },
        tags: [{ name: 'state', reading_type: 'state', scale: 1, offset: 0, deadband: 0 }],
      },
      'modbus',
      { machineIds: new Map([['press-1', machine.id]]), lookup: () => undefined, onRefused: () => {} },
    );
    sink('plc-1', [sample('state', 1, 1)]);
    expect(getMachine(g.ctx, machine.id).status).toBe('running');

    const unlock = lockWrites(g);
    sink('plc-1', [sample('state', 0, 2)]);
    expect(getMachine(g.ctx, machine.id).status).toBe('running');
    unlock();
    // The device still says 0: the status it could not store then is stored now.
    sink('plc-1', [sample('state', 0, 3)]);
    expect(getMachine(g.ctx, machine.id).status).toBe('down');
  });

  it('counts and logs driver readings still unstored when the writer stops, instead of dropping them silently', async () => {
    const g = makeGateway();
    gw = g;
    const machine = g.ctx.store.commandNow((tx) => createMachine(g.ctx, tx, undefined, { name: 'press-2', machine_type: 'press' }));
    const unlock = lockWrites(g);
    try {
      g.ctx.readings.push(
        Array.from({ length: 25 }, (_, i) => ({
          machineId: machine.id,
          readingType: 't',
          value: i,
          unit: null,
          quality: 'good' as const,
          reason: null,
          sourceTs: i,
        })),
        'modbus',
      );
      g.ctx.readings.stop();
    } finally {
      unlock();
    }
    const dropped = (await g.ctx.metrics.readingsDropped.get()).values.find((v) => v.labels.reason === 'shutdown');
    expect(dropped?.value).toBe(25);
    expect((g.ctx.store.sqlite.prepare('SELECT count(*) AS n FROM machine_readings').get() as { n: number }).n).toBe(0);
  });

  it('keeps a tag state when the sink cannot take the samples, and says so to the driver', () => {
    const logged: string[] = [];
    const log: DriverLogger = { info: () => {}, warn: () => {}, debug: () => {}, error: (_o, msg) => void logged.push(msg ?? ''), child: () => log };
    const state = createDeviceState({
      device: 'd',
      protocol: 'modbus-tcp',
      tags: ['t'],
      sink: () => {
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      },
      log,
      now: () => 1000,
      staleAfterMs: () => 10_000,
      checkEveryMs: 1000,
    });
    expect(state.emit([sample('t', 5, 1000)])).toEqual({ reason: 'not_stored', detail: 'disk I/O error' });
    expect(state.qualityOf('t')).toBe('uncertain');
    expect(logged).toEqual(['sample sink failed']);
  });
});
