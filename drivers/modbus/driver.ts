import { createBackoff } from '../engine/backoff.ts';
import { decodeRegisters, registerCount } from '../engine/codec.ts';
import { createDeviceState } from '../engine/device-state.ts';
import { planReads, type ReadBlock } from './plan.ts';
import type { Driver, DriverDeps, Sample } from '../engine/types.ts';
import type { ModbusDevice, ModbusTag } from './config.ts';
import { createModbusTransport, describeModbusError, modbusExceptionCode } from './transport.ts';

interface Group {
  intervalMs: number;
  blocks: ReadBlock[];
  /** How long this group's last poll took when every request answered (no timeout, no drop). */
  lastGoodCycleMs: number;
  timer?: NodeJS.Timeout;
}

export type ModbusDriverDeps = Omit<DriverDeps, 'pkiDir'> & {
  /** Called with the number of requests of each poll cycle (tests check coalescing). */
  onRequests?: (count: number) => void;
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Applies scale and offset; bools stay 0/1, strings stay text. */
export function scaled(tag: ModbusTag, raw: number | string): number | string {
  if (typeof raw === 'string' || tag.data_type === 'bool') return raw;
  return raw * tag.scale + tag.offset;
}

/**
 * Polls one Modbus device: its tags grouped by poll interval and coalesced into few requests,
 * all requests of the device serialised on one connection. A timeout, a broken response or the
 * device closing the connection closes it (so a stale transaction id can never stick) and
 * reconnects with capped, jittered backoff; an exception response marks only that block's tags bad.
 */
export function createModbusDriver(device: ModbusDevice, deps: ModbusDriverDeps): Driver {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'modbus', device: device.name });
  const transport = createModbusTransport(device);
  const backoff = createBackoff(device.reconnect.initial_ms, device.reconnect.max_ms);
  const order = device.byte_order;
  const groups: Group[] = [];
  const groupOf = new Map<string, Group>();
  const byInterval = new Map<number, ModbusTag[]>();
  for (const t of device.tags) {
    const iv = t.poll_interval_ms ?? device.poll_interval_ms;
    byInterval.set(iv, [...(byInterval.get(iv) ?? []), t]);
  }
  for (const [intervalMs, tags] of byInterval) {
    const blocks = planReads(tags, {
      maxRegisters: device.max_registers_per_request,
      maxBits: device.max_bits_per_request,
      maxGap: device.max_gap,
      onePerTag: device.one_request_per_tag,
    });
    const group: Group = { intervalMs, blocks, lastGoodCycleMs: 0 };
    groups.push(group);
    for (const t of tags) groupOf.set(t.name, group);
  }
  const allTags = device.tags.map((t) => t.name);
  const state = createDeviceState({
    device: device.name,
    protocol: device.protocol,
    tags: allTags,
    sink: deps.sink,
    log,
    now,
    // A group is polled `interval` after its previous poll ended, so one period is the interval
    // plus the poll's own duration; three periods without a fresh value make it uncertain.
    staleAfterMs: (tag) => {
      const g = groupOf.get(tag);
      return g ? 3 * (g.intervalMs + g.lastGoodCycleMs) : 3 * device.poll_interval_ms;
    },
    checkEveryMs: Math.max(20, Math.min(1000, ...groups.map((g) => g.intervalMs))),
    onConnectedChange: deps.onConnectedChange,
  });

  let running = false;
  let connecting: Promise<void> | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const disconnect = async (reason: string) => {
    const was = state.connected;
    state.setConnected(false);
    await transport.close().catch(() => {});
    state.markBad(allTags, reason);
    if (was) log.warn({ reason }, 'disconnected');
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (!running || reconnectTimer || connecting) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, backoff.next());
    reconnectTimer.unref?.();
  };

  const connect = (): Promise<void> => {
    if (connecting) return connecting;
    connecting = (async () => {
      try {
        await withTimeout(transport.connect(), device.timeout_ms + 500, 'connect');
        if (!running) {
          await transport.close();
          return;
        }
        state.setConnected(true);
        // The backoff is reset by the first answer, not by the connect: a device (or gateway)
        // that accepts the connection but never answers is retried with growing waits.
        log.info({}, 'connected');
      } catch (err) {
        await transport.close().catch(() => {});
        state.fail(`connect: ${describeModbusError(err)}`);
        state.markBad(allTags, 'not connected');
        connecting = undefined;
        scheduleReconnect();
        return;
      }
      connecting = undefined;
    })();
    return connecting;
  };

  const readBlock = async (block: ReadBlock): Promise<Sample[] | 'broken'> => {
    const ts = now();
    try {
      const words = await withTimeout(transport.read(block.area, block.start, block.count), device.timeout_ms + 250, 'read');
      if (!Array.isArray(words) || words.length < block.count) throw new Error(`short response: ${words?.length ?? 0} of ${block.count}`);
      backoff.reset();
      return block.tags.map((t) => {
        const offset = t.address - block.start;
        const raw =
          block.area === 'coil' || block.area === 'discrete'
            ? (words[offset] ?? 0)
            : decodeRegisters(words.slice(offset, offset + registerCount(t.data_type, t.length)), t.data_type, t.byte_order ?? order);
        const value = scaled(t, raw);
        if (typeof value === 'number' && !Number.isFinite(value))
          return { tag: t.name, value: null, quality: 'bad' as const, reason: 'not a finite number (NaN/Inf)', sourceTs: ts };
        return { tag: t.name, value, quality: 'good' as const, reason: null, sourceTs: ts };
      });
    } catch (err) {
      // Stopping closes the connection under a request: that is no fault of the device.
      if (!running) return 'broken';
      const reason = describeModbusError(err);
      state.fail(reason);
      if (modbusExceptionCode(err) !== undefined) {
        backoff.reset(); // an exception response is an answer: the device is there
        return block.tags.map((t) => ({ tag: t.name, value: null, quality: 'bad' as const, reason, sourceTs: ts }));
      }
      await disconnect(reason);
      return 'broken';
    }
  };

  const pollGroup = async (group: Group) => {
    if (!state.connected) return;
    const started = now();
    let requests = 0;
    let answered = true;
    let allGood = true;
    for (const block of group.blocks) {
      if (!running || !state.connected) {
        answered = false;
        break;
      }
      requests++;
      const result = await readBlock(block);
      if (result === 'broken') {
        answered = false;
        break;
      }
      state.emit(result);
      if (result.some((s) => s.quality !== 'good')) allGood = false;
      if (device.request_pause_ms > 0) await new Promise((r) => setTimeout(r, device.request_pause_ms));
    }
    deps.onRequests?.(requests);
    state.polled(started, answered && allGood);
    // Only a poll that got every answer says how long this device takes: a timed-out one says nothing.
    if (answered) group.lastGoodCycleMs = now() - started;
  };

  const schedule = (group: Group) => {
    if (!running) return;
    group.timer = setTimeout(() => {
      // All requests of one device share its connection: queue them.
      queue = queue.then(() => pollGroup(group)).catch((err) => log.error({ err }, 'poll failed'));
      void queue.finally(() => schedule(group));
    }, group.intervalMs);
    group.timer.unref?.();
  };

  return {
    name: device.name,
    start() {
      if (running) return;
      running = true;
      void connect().then(() => {
        for (const g of groups) schedule(g);
      });
      // Ages values on its own timer: a request hanging until its timeout must not stop that.
      state.startAging();
    },
    async stop() {
      running = false;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      state.stopAging();
      for (const g of groups) if (g.timer) clearTimeout(g.timer);
      // Closing first ends a request in flight at once rather than at its timeout.
      await transport.close().catch(() => {});
      await queue.catch(() => {});
      state.setConnected(false);
    },
    status: () => state.status(),
  };
}
