import type { ModbusDevice, ModbusTag } from '../config.ts';
import { createBackoff } from '../engine/backoff.ts';
import { decodeRegisters, registerCount } from '../engine/codec.ts';
import { planReads, type ReadBlock } from '../engine/plan.ts';
import { type Driver, type DriverLogger, initialDriverState, type Sample, type SampleSink } from '../engine/types.ts';
import { createModbusTransport, describeModbusError, type ModbusTransport, modbusExceptionCode } from './transport.ts';

interface Group {
  intervalMs: number;
  blocks: ReadBlock[];
  timer?: NodeJS.Timeout;
}

export interface ModbusDriverDeps {
  sink: SampleSink;
  logger: DriverLogger;
  now?: () => number;
  transport?: ModbusTransport;
  /** Called with the number of requests of each poll cycle (tests check coalescing). */
  onRequests?: (count: number) => void;
}

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
 * all requests of the device serialised on one connection. A timeout or a broken response
 * closes the connection (so a stale transaction id can never stick) and reconnects with capped,
 * jittered backoff; an exception response marks only that block's tags bad.
 */
export function createModbusDriver(device: ModbusDevice, deps: ModbusDriverDeps): Driver {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'modbus', device: device.name });
  const transport = deps.transport ?? createModbusTransport(device);
  const backoff = createBackoff(device.reconnect.initial_ms, device.reconnect.max_ms);
  const order = device.byte_order;
  const state = initialDriverState(device.name, device.protocol, device.tags);
  const lastGood = new Map<string, number>();
  const intervalOf = new Map(device.tags.map((t) => [t.name, t.poll_interval_ms ?? device.poll_interval_ms]));
  const groups: Group[] = [];
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
    groups.push({ intervalMs, blocks });
  }

  let running = false;
  let connecting: Promise<void> | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  // Runs on its own timer: a request hanging until its timeout must not stop values from aging.
  let staleTimer: NodeJS.Timeout | undefined;
  /** Recent maximum of the poll-cycle duration, decaying 5% per cycle. */
  let cycleEnvelope = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const emit = (samples: Sample[]) => {
    if (samples.length === 0) return;
    for (const s of samples) {
      state.tagQuality.set(s.tag, s.quality);
      if (s.quality === 'good') lastGood.set(s.tag, s.sourceTs);
    }
    try {
      deps.sink(device.name, samples);
    } catch (err) {
      log.error({ err }, 'sample sink failed');
    }
  };

  const fail = (message: string) => {
    if (state.lastError !== message) log.warn({ error: message }, 'device error');
    state.lastError = message;
    state.lastErrorAt = now();
  };

  const markBad = (tags: ModbusTag[], reason: string) => {
    const ts = now();
    emit(tags.filter((t) => state.tagQuality.get(t.name) !== 'bad').map((t) => ({ tag: t.name, value: null, quality: 'bad', reason, sourceTs: ts })));
  };

  const disconnect = async (reason: string) => {
    const was = state.connected;
    state.connected = false;
    await transport.close().catch(() => {});
    markBad(device.tags, reason);
    if (was) log.warn({ reason }, 'disconnected');
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (!running || reconnectTimer || connecting) return;
    const delay = backoff.next();
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, delay);
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
        state.connected = true;
        backoff.reset();
        log.info({}, 'connected');
      } catch (err) {
        await transport.close().catch(() => {});
        fail(`connect: ${describeModbusError(err)}`);
        markBad(device.tags, 'not connected');
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
      const reason = describeModbusError(err);
      fail(reason);
      if (modbusExceptionCode(err) !== undefined) {
        return block.tags.map((t) => ({ tag: t.name, value: null, quality: 'bad' as const, reason, sourceTs: ts }));
      }
      await disconnect(reason);
      return 'broken';
    }
  };

  const staleCheck = () => {
    const t = now();
    const stale: Sample[] = [];
    for (const [tag, quality] of state.tagQuality) {
      const good = lastGood.get(tag);
      // A poll runs `interval` after the previous one finished, so the real period is the
      // interval plus the cycle time (its recent maximum, so jitter does not flap good/uncertain).
      const period = (intervalOf.get(tag) ?? device.poll_interval_ms) + cycleEnvelope;
      if (quality === 'good' && good !== undefined && t - good > 3 * period) {
        stale.push({ tag, value: null, quality: 'uncertain', reason: `no fresh value for ${t - good} ms`, sourceTs: t });
      }
    }
    emit(stale);
  };

  const pollGroup = async (group: Group) => {
    if (!state.connected) return;
    const started = now();
    state.lastPollAt = started;
    let requests = 0;
    let ok = true;
    for (const block of group.blocks) {
      if (!running || !state.connected) {
        ok = false;
        break;
      }
      requests++;
      const result = await readBlock(block);
      if (result === 'broken') {
        ok = false;
        break;
      }
      emit(result);
      if (result.some((s) => s.quality !== 'good')) ok = false;
      if (device.request_pause_ms > 0) await new Promise((r) => setTimeout(r, device.request_pause_ms));
    }
    deps.onRequests?.(requests);
    state.pollDurationMs = now() - started;
    cycleEnvelope = Math.max(state.pollDurationMs, cycleEnvelope * 0.95);
    if (ok) state.lastSuccessAt = now();
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
      staleTimer = setInterval(staleCheck, Math.max(100, Math.min(...groups.map((g) => g.intervalMs))));
      staleTimer.unref?.();
    },
    async stop() {
      running = false;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      clearInterval(staleTimer);
      for (const g of groups) if (g.timer) clearTimeout(g.timer);
      await queue.catch(() => {});
      await transport.close().catch(() => {});
      state.connected = false;
    },
    state: () => state,
  };
}
