import modbusSerial from 'modbus-serial';
type ModbusRTU = InstanceType<typeof modbusSerial.default>;
import type { Area, ModbusDevice } from './config.ts';

/** The few Modbus calls the driver needs. */
interface ModbusTransport {
  connect(): Promise<void>;
  read(area: Area, start: number, count: number): Promise<number[]>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/** Modbus exception responses carry a code; everything else is a transport fault. */
export function modbusExceptionCode(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown } | null)?.modbusCode;
  return typeof code === 'number' ? code : undefined;
}

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target failed to respond',
};

export function describeModbusError(err: unknown): string {
  const code = modbusExceptionCode(err);
  if (code !== undefined) return `modbus exception ${code} (${EXCEPTIONS[code] ?? 'unknown'})`;
  const e = err as { name?: string; message?: string; errno?: string } | null;
  if (e?.name === 'TransactionTimedOutError' || /timed out/i.test(e?.message ?? '')) return 'timeout';
  return (e?.message ?? String(err)).slice(0, 200);
}

/**
 * modbus-serial keeps every finished transaction (with its callback, and through it the response)
 * in `_transactions` until the 16-bit transaction id wraps: up to 65,536 entries per connection,
 * ~100 MB at a few hundred requests per second. The engine never has two requests in flight on
 * one connection, so once a request has settled its entry can go.
 */
function forgetTransactions(c: ModbusRTU): void {
  (c as unknown as { _transactions: Record<number, unknown> })._transactions = {};
}

/** modbus-serial over TCP or RTU (serial), with the request timeout always set. */
export function createModbusTransport(device: ModbusDevice): ModbusTransport {
  let client: ModbusRTU | undefined;
  /**
   * The requests in flight, failed at once when the connection ends (the device closes it, or
   * close() is called) instead of waiting for their timeout. Each request removes itself when it
   * settles: racing every request against one promise that lives as long as the connection kept
   * every answer reachable until the connection closed (a leak on a healthy connection).
   */
  const inFlight = new Set<(err: Error) => void>();
  const drop = (reason: string) => {
    for (const fail of inFlight) fail(new Error(reason));
    inFlight.clear();
  };
  return {
    get isOpen() {
      return client?.isOpen ?? false;
    },
    async connect() {
      const c = new modbusSerial.default();
      // A socket error after connect must never become an uncaught exception.
      c.on?.('error', () => {});
      if (device.protocol === 'modbus-tcp') {
        await c.connectTCP(device.host, { port: device.port, timeout: device.timeout_ms } as never);
      } else {
        await c.connectRTUBuffered(device.path, { baudRate: device.baud_rate, parity: device.parity, dataBits: device.data_bits, stopBits: device.stop_bits });
      }
      c.setID(device.unit_id);
      c.setTimeout(device.timeout_ms);
      c.on('close', () => {
        if (client === c) drop('connection closed by the device');
      });
      client = c;
    },
    async read(area, start, count) {
      const c = client;
      if (!c?.isOpen) throw new Error('not connected');
      const request = async (): Promise<number[]> => {
        switch (area) {
          case 'holding':
            return (await c.readHoldingRegisters(start, count)).data;
          case 'input':
            return (await c.readInputRegisters(start, count)).data;
          case 'coil':
            return (await c.readCoils(start, count)).data.slice(0, count).map((b: boolean) => (b ? 1 : 0));
          case 'discrete':
            return (await c.readDiscreteInputs(start, count)).data.slice(0, count).map((b: boolean) => (b ? 1 : 0));
        }
      };
      return new Promise<number[]>((resolve, reject) => {
        inFlight.add(reject);
        request()
          .then(resolve, reject)
          .finally(() => {
            inFlight.delete(reject);
            forgetTransactions(c);
          });
      });
    },
    close() {
      const c = client;
      client = undefined;
      drop('connection closed');
      if (!c) return Promise.resolve();
      return new Promise<void>((resolve) => {
        try {
          c.close(() => resolve());
          // Some port types never call back when already closed.
          setTimeout(resolve, 200).unref();
        } catch {
          resolve();
        }
      });
    },
  };
}
