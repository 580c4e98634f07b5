import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';

/** Prometheus figures of this process (its own registry: no global state). */
export interface Metrics {
  registry: Registry;
  /** gateway_http_requests_total and gateway_http_request_duration_seconds, one call per request. */
  httpRequests: RequestMetrics;
  httpConnections: Gauge;
  httpConnectionsClosed: Counter<'reason'>;
  httpRequestsHeld: Gauge;
  readingsStored: Counter<'source'>;
  readingsDropped: Counter<'reason'>;
  driverValues: Counter<'device'>;
  /** HQ sync: reachable, outbox backlog and its oldest row's age, rows moved, failed cycles. */
  syncOnline: Gauge;
  syncBacklog: Gauge;
  syncOldestAge: Gauge;
  syncRows: Counter<'direction'>;
  syncErrors: Counter;
  /** HQ changes for the site committed but not yet pullable (HQ's horizon held back), and for how long. */
  syncPullLag: Gauge;
  syncPullHeld: Gauge;
  /** The edge's wall clock against its last clock value and HQ's clock (SYNC_CLOCK_SKEW_LIMIT_MS). */
  syncClockBehind: Gauge;
  syncClockHqOffset: Gauge;
  syncClockSkewExceeded: Gauge;
}

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new RequestMetrics(registry),
    httpConnections: new Gauge({ name: 'gateway_http_connections', help: 'Open HTTP connections', registers }),
    httpConnectionsClosed: new Counter({
      name: 'gateway_http_connections_closed_total',
      help: 'HTTP connections the gateway refused or cut: limit (MAX_CONNECTIONS reached), timeout (request not received in time), pipeline (too many requests waiting)',
      labelNames: ['reason'],
      registers,
    }),
    httpRequestsHeld: new Gauge({
      name: 'gateway_http_requests_held',
      help: 'Pipelined requests read but held back until their connection has taken the earlier responses',
      registers,
    }),
    readingsStored: new Counter({ name: 'gateway_readings_stored_total', help: 'Machine readings committed to SQLite', labelNames: ['source'], registers }),
    readingsDropped: new Counter({
      name: 'gateway_readings_rejected_total',
      help: 'Readings refused (invalid, unknown machine)',
      labelNames: ['reason'],
      registers,
    }),
    driverValues: new Counter({
      name: 'gateway_driver_values_total',
      help: 'Tag values read from field devices (before report by exception)',
      labelNames: ['device'],
      registers,
    }),
    syncOnline: new Gauge({ name: 'gateway_sync_online', help: '1 when the last sync cycle reached HQ', registers }),
    syncBacklog: new Gauge({ name: 'gateway_sync_backlog_rows', help: 'Captured changes not yet committed at HQ', registers }),
    syncOldestAge: new Gauge({ name: 'gateway_sync_oldest_unsynced_seconds', help: 'Age of the oldest change not yet at HQ', registers }),
    syncRows: new Counter({ name: 'gateway_sync_rows_total', help: 'Rows pushed to or pulled from HQ', labelNames: ['direction'], registers }),
    syncErrors: new Counter({ name: 'gateway_sync_errors_total', help: 'Sync cycles that failed', registers }),
    syncPullLag: new Gauge({
      name: 'gateway_sync_pull_lag_seconds',
      help: 'How long the pull has not passed every HQ change committed for this site (a transaction open on the HQ cluster holds its horizon); 0 when caught up',
      registers,
    }),
    syncPullHeld: new Gauge({
      name: 'gateway_sync_pull_held_changes',
      help: 'HQ changes for this site committed but past the pull horizon at the last pull',
      registers,
    }),
    syncClockBehind: new Gauge({
      name: 'gateway_sync_clock_behind_seconds',
      help: "How far the edge's wall clock is behind the last hybrid clock value it issued or received (changes then run on the counter)",
      registers,
    }),
    syncClockHqOffset: new Gauge({
      name: 'gateway_sync_clock_hq_offset_seconds',
      help: "The edge's wall clock minus HQ's at the last pull (positive: the edge is ahead)",
      registers,
    }),
    syncClockSkewExceeded: new Gauge({
      name: 'gateway_sync_clock_skew_exceeded',
      help: '1 while the wall clock is behind the last clock value, or ahead of HQ, by more than SYNC_CLOCK_SKEW_LIMIT_MS',
      registers,
    }),
  };
}

/** Upper bounds (seconds, inclusive) of gateway_http_request_duration_seconds' buckets. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** One line of exposition as prom-client's registry formats it (labels first, then the shared ones). */
interface ExposedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

/** One method and route's figures: requests by status, and the duration histogram. */
interface RouteFigures {
  method: string;
  route: string;
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * Speed-up "hand-counted request metrics" (issue 24): the per-request counter and histogram,
 * kept in one record per method and route and turned into prom-client's exposition only when
 * /metrics is scraped. prom-client's `inc` and `observe` with labels validate the label names,
 * hash the label values into a key and search the buckets on every request: 2.7 µs per request
 * against 0.07 µs here in a micro test on the loaded VM, and switching both calls off took ~12% off
 * GET /auth/me's CPU per request (docs/benchmarks.md, issue 24). The text served is the same:
 * names, help, label order, cumulative buckets with `le` first, then `_sum` and `_count`.
 */
export class RequestMetrics {
  private readonly routes = new Map<string, RouteFigures>();

  constructor(registry: Registry) {
    const figures = () => this.routes.values();
    registry.registerMetric(
      collected('gateway_http_requests_total', 'HTTP requests by route and status', 'counter', () =>
        [...figures()].flatMap((f) => [...f.statuses].map(([status, value]) => ({ labels: { method: f.method, route: f.route, status }, value }))),
      ),
    );
    registry.registerMetric(
      collected('gateway_http_request_duration_seconds', 'HTTP request duration', 'histogram', () => [...figures()].flatMap(histogramValues)),
    );
  }

  /** Counts one answered request of `route` (the matched pattern) and its duration. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let f = this.routes.get(key);
    if (f === undefined) {
      f = { method, route, statuses: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      this.routes.set(key, f);
    }
    f.statuses.set(status, (f.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
    f.buckets[i] = (f.buckets[i] as number) + 1;
    f.sum += seconds;
    f.count++;
  }
}

/** A histogram's exposition values as prom-client writes them: cumulative buckets, +Inf, sum, count. */
function histogramValues(f: RouteFigures): ExposedValue[] {
  const name = 'gateway_http_request_duration_seconds';
  const sharedLabels = { method: f.method, route: f.route };
  let seen = 0;
  const values: ExposedValue[] = DURATION_BUCKETS.map((le, i) => {
    seen += f.buckets[i] as number;
    return { labels: { le }, sharedLabels, value: seen, metricName: `${name}_bucket` };
  });
  values.push(
    { labels: { le: '+Inf' }, sharedLabels, value: f.count, metricName: `${name}_bucket` },
    { labels: {}, sharedLabels, value: f.sum, metricName: `${name}_sum` },
    { labels: {}, sharedLabels, value: f.count, metricName: `${name}_count` },
  );
  return values;
}

/** A metric whose values are read at scrape time, in the shape prom-client's registry serializes. */
function collected(name: string, help: string, type: 'counter' | 'histogram', values: () => ExposedValue[]): Metric {
  const get = async () => ({ name, help, type, values: values(), aggregator: 'sum' });
  return { name, help, type, aggregator: 'sum', get, reset: () => {} } as unknown as Metric;
}
