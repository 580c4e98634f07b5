import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus figures of this process (its own registry: no global state). */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
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
    httpRequests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
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
