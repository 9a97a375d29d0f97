// /metrics in the Prometheus text format, for the hub's operators and a scrape job only.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { requireMonitor } from './auth.ts';
import { collectedGauge, renderMetrics } from './metrics.ts';

/**
 * Prometheus scrapes with a bearer token like any other API client (`authorization` in its scrape config): one
 * of an operator (admin, analyst) or of the `metrics` role, never a facility's, since the series name every
 * channel and queue.
 */
export function createMetricsRouter(auth: Middleware): Router {
  collectedGauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => [
    { labels: {}, value: process.memoryUsage.rss() },
  ]);
  collectedGauge('process_heap_used_bytes', 'V8 heap in use, in bytes.', () => [
    { labels: {}, value: process.memoryUsage().heapUsed },
  ]);
  // What of RSS is neither: the V8 heap V8 holds (used or not), and memory outside it (Buffers, native objects).
  collectedGauge('process_heap_total_bytes', 'V8 heap reserved, in use or not, in bytes.', () => [
    { labels: {}, value: process.memoryUsage().heapTotal },
  ]);
  collectedGauge('process_external_memory_bytes', 'Memory of JavaScript objects held outside the V8 heap.', () => [
    { labels: {}, value: process.memoryUsage().external },
  ]);
  const router = new Router();
  router.get('/metrics', auth, requireMonitor, (ctx) => {
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = renderMetrics();
  });
  return router;
}
