import type { DeviceStatus, DriverLogger, Sample, SampleSink, SinkRefusal } from './types.ts';
import type { Quality } from '../../src/core/vocabulary.ts';

interface DeviceStateOptions {
  device: string;
  protocol: string;
  tags: readonly string[];
  sink: SampleSink;
  log: DriverLogger;
  now: () => number;
  /** How long a good value of `tag` stays good without a fresh read or confirmation (the stale rule). */
  staleAfterMs(tag: string): number;
  /** How often values are checked for age. */
  checkEveryMs: number;
  onConnectedChange?: ((connected: boolean) => void) | undefined;
}

/**
 * The value/quality/stale bookkeeping every driver shares: it hands samples to the sink, keeps
 * each tag's quality and the device's figures for /drivers/status, and turns a good value
 * `uncertain` once it is older than the protocol's stale rule allows. Drivers only say what
 * happened (values read, an error, a connection change); this decides what the user sees.
 */
export function createDeviceState(o: DeviceStateOptions) {
  const quality = new Map<string, Quality>(o.tags.map((t) => [t, 'uncertain']));
  /** Last good value of each tag and when the gateway last knew it to be current (gateway time). */
  const fresh = new Map<string, { value: number | string | null; at: number }>();
  /** Tags this state itself turned uncertain for age (a confirmation brings them back). */
  const aged = new Set<string>();
  const figures = {
    connected: false,
    last_poll_at: null as number | null,
    last_success_at: null as number | null,
    last_error: null as string | null,
    last_error_at: null as number | null,
    poll_duration_ms: null as number | null,
  };
  let timer: NodeJS.Timeout | undefined;
  let lastCheck = 0;

  /** Hands samples to the sink; a refused batch (unknown machine, a failing database) changes no tag's state. */
  const emit = (samples: Sample[]): SinkRefusal | undefined => {
    if (samples.length === 0) return undefined;
    try {
      const refused = o.sink(o.device, samples);
      if (refused) return refused;
    } catch (err) {
      o.log.error({ err }, 'sample sink failed');
      return { reason: 'not_stored', detail: err instanceof Error ? err.message : String(err) };
    }
    const at = o.now();
    for (const s of samples) {
      quality.set(s.tag, s.quality);
      aged.delete(s.tag);
      if (s.quality !== 'good') continue;
      const known = fresh.get(s.tag);
      // Updated in place, not replaced: one object per good value was garbage at every poll.
      if (known) {
        known.value = s.value;
        known.at = at;
      } else fresh.set(s.tag, { value: s.value, at });
    }
    return undefined;
  };

  /** The device confirmed its values are current without sending them again (OPC UA keep-alive, notifications). */
  const heard = () => {
    const at = o.now();
    figures.last_poll_at = at;
    figures.last_success_at = at;
    const restored: Sample[] = [];
    for (const [tag, last] of fresh) {
      if (quality.get(tag) === 'good') last.at = at;
      else if (aged.has(tag)) restored.push({ tag, value: last.value, quality: 'good', reason: null, sourceTs: at });
    }
    emit(restored);
  };

  const age = () => {
    const t = o.now();
    const late = t - lastCheck > 2 * o.checkEveryMs;
    lastCheck = t;
    // A check that runs late means the gateway itself was held up (start-up work, a long GC):
    // answers may be waiting unread, so this round would blame the device for our delay.
    if (late) return;
    const stale: Sample[] = [];
    for (const [tag, last] of fresh) {
      if (quality.get(tag) !== 'good' || t - last.at <= o.staleAfterMs(tag)) continue;
      stale.push({ tag, value: null, quality: 'uncertain', reason: `no fresh value for ${t - last.at} ms`, sourceTs: t });
    }
    emit(stale);
    for (const s of stale) aged.add(s.tag);
  };

  return {
    emit,
    heard,
    /**
     * Records an error for /drivers/status, logged when it differs from the last one unless the
     * driver logs it itself (MQTT: a bad payload, at most once per topic per interval).
     */
    fail(message: string, opts: { logged?: boolean } = {}) {
      if (figures.last_error !== message && !opts.logged) o.log.warn({ error: message }, 'device error');
      figures.last_error = message;
      figures.last_error_at = o.now();
    },
    /** Marks tags bad with a reason; tags already bad are not repeated. */
    markBad(tags: Iterable<string>, reason: string) {
      const ts = o.now();
      const out: Sample[] = [];
      for (const tag of tags) if (quality.get(tag) !== 'bad') out.push({ tag, value: null, quality: 'bad', reason, sourceTs: ts });
      emit(out);
    },
    setConnected(connected: boolean) {
      if (figures.connected === connected) return;
      figures.connected = connected;
      o.onConnectedChange?.(connected);
    },
    get connected() {
      return figures.connected;
    },
    /** A push device got a message (last_poll_at), which became readings when stored (last_success_at). */
    received(stored: boolean) {
      const at = o.now();
      figures.last_poll_at = at;
      if (stored) figures.last_success_at = at;
    },
    /** A poll cycle ended: its start, and whether every request in it answered. */
    polled(startedAt: number, ok: boolean) {
      const end = o.now();
      figures.last_poll_at = startedAt;
      figures.poll_duration_ms = end - startedAt;
      if (ok) figures.last_success_at = end;
    },
    qualityOf: (tag: string) => quality.get(tag),
    startAging() {
      if (timer) return;
      lastCheck = o.now();
      timer = setInterval(age, o.checkEveryMs);
      timer.unref?.();
    },
    stopAging() {
      clearInterval(timer);
      timer = undefined;
    },
    status(): DeviceStatus {
      const q = [...quality.values()];
      return {
        device: o.device,
        protocol: o.protocol,
        ...figures,
        tags_total: q.length,
        tags_good: q.filter((x) => x === 'good').length,
        tags_bad: q.filter((x) => x === 'bad').length,
        tags_uncertain: q.filter((x) => x === 'uncertain').length,
      };
    },
  };
}
