// The engine's Prometheus series. Queue depth is a database count, so workers refresh a cached figure and
// the scrape reads the cache (http/metrics.ts collects synchronously).
import { collectedGauge, counter } from '../http/metrics.ts';

export const receivedTotal = counter('hub_channel_messages_received_total', 'Messages a channel received and stored.');
export const processingErrorsTotal = counter(
  'hub_channel_processing_errors_total',
  'Messages whose filter or map failed.',
);
export const refusedTotal = counter(
  'hub_channel_messages_refused_total',
  "Messages a destination's check refused before they were acknowledged.",
);
export const sentTotal = counter('hub_channel_deliveries_sent_total', 'Deliveries a destination sent.');
export const deliveryErrorsTotal = counter('hub_channel_delivery_errors_total', 'Deliveries that ended in error.');
export const retriesTotal = counter(
  'hub_channel_delivery_retries_total',
  'Delivery attempts that failed and will be retried.',
);

const depths = new Map<string, { channel: string; destination: string; value: number }>();

collectedGauge('hub_channel_queue_depth', 'Items waiting in a destination queue.', () =>
  [...depths.values()].map((d) => ({ labels: { channel: d.channel, destination: d.destination }, value: d.value })),
);

export function setQueueDepth(channel: string, destination: string, value: number): void {
  depths.set(`${channel}\u0000${destination}`, { channel, destination, value });
}

export function forgetQueueDepth(channel: string, destination: string): void {
  depths.delete(`${channel}\u0000${destination}`);
}
