import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from '../src/metrics.ts';

// The hand-counted request metrics must serve what prom-client's own Counter and Histogram served
// before them: dashboards and alerts (docs/operations.md) query these names, labels and buckets.
describe('request metrics', () => {
  const observations: Array<[string, string, number, number]> = [
    ['GET', '/auth/me', 200, 0.0004],
    ['GET', '/auth/me', 200, 0.001], // on a bound: counted in le="0.001", as prom-client does
    ['GET', '/auth/me', 401, 0.0031],
    ['POST', '/stages/:id/start', 201, 0.02],
    ['POST', '/stages/:id/start', 409, 3.5], // above every bound: only +Inf
    ['GET', 'unmatched', 404, 0.3],
    ['POST', '/auth/login', 499, 0.75],
  ];

  it('serves the same exposition text as prom-client for the same requests', async () => {
    const ours = new Registry();
    const metrics = new RequestMetrics(ours);
    const theirs = new Registry();
    const counter = new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [theirs],
    });
    const histogram = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [theirs],
    });
    for (const [method, route, status, seconds] of observations) {
      metrics.observe(method, route, status, seconds);
      counter.inc({ method, route, status });
      histogram.observe({ method, route }, seconds);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('gateway_http_requests_total{method="GET",route="/auth/me",status="200"} 2');
    expect(text).toContain('gateway_http_request_duration_seconds_bucket{le="0.001",method="GET",route="/auth/me"} 2');
    expect(text).toContain('gateway_http_request_duration_seconds_count{method="POST",route="/stages/:id/start"} 2');
  });

  it('serves the names with no samples before the first request, as prom-client does', async () => {
    const ours = new Registry();
    new RequestMetrics(ours);
    expect(await ours.metrics()).toContain('# TYPE gateway_http_request_duration_seconds histogram');
  });
});
