// /metrics in the Prometheus text format, for the hub's operators and a scrape job only.
import { performance } from 'node:perf_hooks';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { requireMonitor } from './auth.ts';
import { collectedCounter, collectedGauge, renderMetrics } from './metrics.ts';

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
  // The event loop's busy and idle time since the process started (perf_hooks eventLoopUtilization), as
  // counters: a scraper gets the utilisation over any window as Δactive ÷ (Δactive + Δidle), which a gauge of the
  // current utilisation could not give without sampling at the scraper's own rate.
  collectedCounter('nodejs_eventloop_active_seconds_total', 'Time the event loop spent running callbacks.', () => [
    { labels: {}, value: performance.eventLoopUtilization().active / 1000 },
  ]);
  collectedCounter('nodejs_eventloop_idle_seconds_total', 'Time the event loop spent waiting for events.', () => [
    { labels: {}, value: performance.eventLoopUtilization().idle / 1000 },
  ]);
  const router = new Router();
  router.get('/metrics', auth, requireMonitor, (ctx) => {
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = renderMetrics();
  });
  return router;
}
