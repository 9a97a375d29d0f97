// What a queue worker writes when a delivery ends or waits: the message's delivery state, the queue item
// (rescheduled, removed or left at a paused head), metrics, logs and engine events. Kept apart from the worker
// (queue-worker.ts), which decides when to send and what an attempt's result means; this file only records it.
// Error texts may quote the message (order numbers, patient ids), so they go to the log at debug level only.
import { retryDelayMs } from './backoff.ts';
import { deliveryErrorsTotal, retriesTotal, sentTotal } from './channel-metrics.ts';
import type { EngineEvents } from './engine-events.ts';
import type { QueueItem } from './queue.ts';
import type { QueueWorkerOptions } from './queue-worker.ts';
import type { SentDelivery } from './sent-recorder.ts';

export type OutcomeOptions = Pick<
  QueueWorkerOptions,
  'channelId' | 'destination' | 'queue' | 'messages' | 'events' | 'log'
>;

export class DeliveryOutcomes {
  readonly #o: OutcomeOptions;

  constructor(options: OutcomeOptions) {
    this.#o = options;
  }

  recordedSent({ item, attempts }: SentDelivery): void {
    sentTotal.inc(this.#labels());
    this.#o.events.emit('delivery-sent', {
      channelId: item.channelId,
      destination: item.destination,
      messageId: item.messageId,
      attempts,
    });
  }

  /** Parks an item whose attempts did not end (see QueueWorkerOptions.replayBefore): an error, out of the queue. */
  async park(item: QueueItem, budgetMs: number): Promise<void> {
    const reason = `parked: ${item.unfinished} attempts to process this message did not end (the hub stopped during them, or they failed after more than ${budgetMs} ms); it is not tried again by itself${item.lastError ? `; last error: ${item.lastError}` : ''}`;
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, {
      state: 'error',
      attempts: item.attempts,
      lastError: reason,
      parked: true,
    });
    await this.#o.queue.remove(item._id);
    this.#o.log.error('delivery parked: its attempts did not end', {
      messageId: item.messageId,
      unfinished: item.unfinished,
    });
    this.errored(item, item.attempts, reason);
  }

  async retry(
    item: QueueItem,
    attempts: number,
    error: string,
    response: string | undefined,
    unfinished: number,
  ): Promise<void> {
    const delay = retryDelayMs(this.#o.destination.retry, attempts);
    await this.#o.queue.reschedule(item._id, attempts, new Date(Date.now() + delay), error, unfinished);
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, {
      state: 'queued',
      attempts,
      lastError: error,
      response: response ?? null,
    });
    retriesTotal.inc(this.#labels());
    // The peer's or the mapping's error text may quote the message (order numbers, patient ids): debug only.
    this.#o.log.warn('delivery failed, will retry', { messageId: item.messageId, attempts, retryInMs: delay });
    this.#o.log.debug('delivery failed, will retry', { messageId: item.messageId }, { error });
    this.#o.events.emit('delivery-retry', this.#event(item, attempts, error));
  }

  async giveUp(item: QueueItem, attempts: number, error: string, response: string | undefined): Promise<void> {
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, {
      state: 'error',
      attempts,
      lastError: error,
      response: response ?? null,
    });
    await this.#o.queue.remove(item._id);
    this.errored(item, attempts, error);
  }

  async pauseOnExhausted(
    item: QueueItem,
    attempts: number,
    error: string,
    response: string | undefined,
  ): Promise<void> {
    const { queue, channelId, destination } = this.#o;
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, {
      state: 'error',
      attempts,
      lastError: error,
      response: response ?? null,
    });
    // The item stays at the head with a fresh attempt count, so resuming retries it in order.
    await queue.reschedule(item._id, 0, new Date(), error);
    await queue.setPaused(channelId, destination.name, true);
    this.errored(item, attempts, error);
    this.#o.log.warn('destination paused after max attempts', { messageId: item.messageId });
    this.#o.events.emit('destination-paused', { channelId, destination: destination.name });
  }

  errored(item: QueueItem, attempts: number, error: string): void {
    deliveryErrorsTotal.inc(this.#labels());
    this.#o.log.error('delivery failed for good', { messageId: item.messageId, attempts });
    this.#o.log.debug('delivery failed for good', { messageId: item.messageId }, { error });
    this.#o.events.emit('delivery-error', this.#event(item, attempts, error));
  }

  #event(item: QueueItem, attempts: number, error: string): EngineEvents['delivery-error'][0] {
    return { channelId: item.channelId, destination: item.destination, messageId: item.messageId, attempts, error };
  }

  #labels(): Record<string, string> {
    return { channel: this.#o.channelId, destination: this.#o.destination.name };
  }
}
