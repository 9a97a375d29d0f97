// Records a queue worker's sent deliveries in groups while the worker goes on sending. Recording a delivery is
// two durable writes (the message's delivery state, then the item's removal); awaited one message at a time
// they cost two commit-and-fsync rounds per message and bound a destination to a few hundred messages a
// second, however fast its peer answers. Here the deliveries sent while one group is being written form the
// next group, whose writes are issued together: the embedded engine commits them in one transaction with one
// fsync (store/embedded/engine.ts), MongoDB gets them pipelined on its connection.
// Until its group is durable a sent item is still in the queue, so a crash re-sends it (at least once, in
// order); a worker reading its queue again before settled() must skip such items (see QueueWorker), or it would
// send them twice.
import { errorText, type Logger } from '../runtime/log.ts';
import type { MessageStore } from './message-store.ts';
import type { DeliveryQueue, QueueItem } from './queue.ts';

export interface SentDelivery {
  item: QueueItem;
  attempts: number;
  response: string | null;
}

export interface SentRecorderOptions {
  queue: DeliveryQueue;
  messages: MessageStore;
  log: Logger;
  /** Called for each delivery once its record is durable (metrics, events). */
  recorded(delivery: SentDelivery): void;
}

export class SentRecorder {
  readonly #o: SentRecorderOptions;
  #waiting: SentDelivery[] = [];
  #draining: Promise<void> | undefined;
  /** Groups that could not be recorded; their items stay queued, so a reader must read the queue afresh. */
  failures = 0;

  constructor(options: SentRecorderOptions) {
    this.#o = options;
  }

  add(delivery: SentDelivery): void {
    this.#waiting.push(delivery);
    this.#draining ??= this.#drain();
  }

  /** True while some delivery added is not recorded yet: its item is still in the queue. */
  get busy(): boolean {
    return this.#draining !== undefined;
  }

  /** Resolves once every delivery added so far is recorded (or its group failed and was logged). */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) await this.#record(this.#waiting.splice(0));
    } finally {
      this.#draining = undefined;
    }
  }

  async #record(group: SentDelivery[]): Promise<void> {
    const { queue, messages, log } = this.#o;
    const updates = group.map(({ item, attempts, response }) => ({
      id: item.messageId,
      destinationIndex: item.destinationIndex,
      update: { state: 'sent' as const, attempts, lastError: null, response },
    }));
    try {
      // Both writes are issued in the same turn (one commit on the embedded engine, message updates first). Were
      // the removal to land alone, the deploy-time recovery of 'queued' deliveries without an item would queue
      // the message again: a second delivery, never a lost one.
      await Promise.all([messages.updateDeliveries(updates), queue.removeMany(group.map(({ item }) => item._id))]);
    } catch (error) {
      // The items stay queued and are sent again once the worker re-reads its queue.
      this.failures++;
      log.error('could not record sent deliveries; they will be sent again', {
        count: group.length,
        error: errorText(error),
      });
      return;
    }
    for (const delivery of group) this.#o.recorded(delivery);
  }
}
