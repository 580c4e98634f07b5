import modbusSerial from 'modbus-serial';

type Cb<T> = (err: Error | null, value: T) => void;

/** Faults a test can switch on: exception responses, silence, or a per-request delay. */
export interface SimFaults {
  exceptionAt?: { start: number; end: number; code: number };
  silent?: boolean;
  delayMs?: number;
}

/**
 * A real Modbus TCP server (modbus-serial's ServerTCP) over plain arrays; counts requests so
 * tests can check coalescing. Runs in the test process or, for the benchmark, in a child.
 */
export class ModbusSim {
  holding = new Array<number>(65536).fill(0);
  input = new Array<number>(65536).fill(0);
  coils = new Array<boolean>(65536).fill(false);
  discrete = new Array<boolean>(65536).fill(false);
  requests = 0;
  faults: SimFaults = {};
  private server: InstanceType<typeof modbusSerial.ServerTCP> | undefined;

  constructor(readonly port: number) {}

  private answer<T>(start: number, length: number, cb: Cb<T>, value: () => T): void {
    this.requests++;
    const f = this.faults;
    if (f.silent) return;
    if (f.exceptionAt && start < f.exceptionAt.end && start + length > f.exceptionAt.start) {
      const err = Object.assign(new Error('exception'), { modbusErrorCode: f.exceptionAt.code });
      setImmediate(() => cb(err, undefined as T));
      return;
    }
    const reply = () => cb(null, value());
    if (f.delayMs) setTimeout(reply, f.delayMs);
    else setImmediate(reply);
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const vector = {
        getMultipleHoldingRegisters: (addr: number, len: number, _unit: number, cb: Cb<number[]>) =>
          this.answer(addr, len, cb, () => this.holding.slice(addr, addr + len)),
        getMultipleInputRegisters: (addr: number, len: number, _unit: number, cb: Cb<number[]>) =>
          this.answer(addr, len, cb, () => this.input.slice(addr, addr + len)),
        getHoldingRegister: (addr: number, _unit: number, cb: Cb<number>) => this.answer(addr, 1, cb, () => this.holding[addr] ?? 0),
        getInputRegister: (addr: number, _unit: number, cb: Cb<number>) => this.answer(addr, 1, cb, () => this.input[addr] ?? 0),
        getCoil: (addr: number, _unit: number, cb: Cb<boolean>) => {
          // Bits are answered one callback per address; count a request once per block start.
          if (this.faults.silent) return;
          cb(null, this.coils[addr] ?? false);
        },
        getDiscreteInput: (addr: number, _unit: number, cb: Cb<boolean>) => {
          if (this.faults.silent) return;
          cb(null, this.discrete[addr] ?? false);
        },
      };
      const server = new modbusSerial.ServerTCP(vector as never, { host: '127.0.0.1', port: this.port, unitID: 1 });
      server.on('error', reject);
      server.on('socketError', () => {});
      server.on('initialized', () => resolve());
      this.server = server;
    });
  }

  /** Closes every client connection, as a PLC does when it restarts its TCP stack; keeps listening. */
  dropConnections(): void {
    for (const sock of this.server?.socks.keys() ?? []) sock.destroy();
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      for (const sock of server.socks.keys()) sock.destroy();
      server.close(() => resolve());
    });
  }
}
