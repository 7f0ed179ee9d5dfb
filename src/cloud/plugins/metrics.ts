/**
 * Prometheus metrics (`prom-client`) at `/metrics`: per route, method and
 * status, `hedge_http_requests_total` and the histogram
 * `hedge_http_request_duration_seconds`, plus the process's default metrics
 * (prefixed `hedge_`). Each app keeps its own registry. Unmatched paths are
 * counted under the route label `unmatched`, so a scan of random URLs cannot
 * blow up the label set.
 * @module
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { globalPlugin } from './global.ts';

/**
 * Registers the request metrics hooks and `/metrics`.
 * @example
 * ```ts
 * await app.register(metricsPlugin, { registry: new Registry() });
 * ```
 */
export const metricsPlugin = globalPlugin<{ registry: Registry }>('hedge-metrics', async (app, { registry }) => {
  collectDefaultMetrics({ register: registry, prefix: 'hedge_' });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({ name: 'hedge_http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const durations = new Histogram({
    name: 'hedge_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
    requests.inc(labels);
    durations.observe(labels, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
      config: { access: { public: true } },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
});
