// Records a queue worker's sent deliveries in groups while the worker goes on sending. Recording a delivery is
// two durable writes (the message's delivery state, then the item's removal); awaited one message at a time
// they cost two commit-and-fsync rounds per message and bound a destination to a few hundred messages a
// second, however fast its peer answers. Here the deliveries of a group have their writes issued together: the
// embedded engine commits them in one transaction with one fsync (store/embedded/engine.ts), MongoDB gets them
// pipelined on its connection.
// A run of an ordered destination is recorded as one group when it ends (or every maxGroup deliveries): begun at
// its first delivery, a group held whatever was sent during the previous group's commit, a few deliveries, and
// each small group paid again for the index pages all of them touch (CPU profile of the HL7 relay).
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

/** A run's deliveries wait for its end at most this many at a time: a crash re-sends at most one run. */
const maxGroup = 50;

export class SentRecorder {
  readonly #o: SentRecorderOptions;
  #waiting: SentDelivery[] = [];
  /** How many of the waiting deliveries, from the first, may be recorded now (the rest wait for their run's end). */
  #released = 0;
  #draining: Promise<void> | undefined;
  /** Groups that could not be recorded; their items stay queued, so a reader must read the queue afresh. */
  failures = 0;

  constructor(options: SentRecorderOptions) {
    this.#o = options;
  }

  /** `inRun`: more deliveries of the same run follow; it is recorded at flush() (or once maxGroup wait). */
  add(delivery: SentDelivery, inRun = false): void {
    this.#waiting.push(delivery);
    if (!inRun || this.#waiting.length - this.#released >= maxGroup) this.flush();
  }

  /** Records what was added so far: the run ended. */
  flush(): void {
    this.#released = this.#waiting.length;
    if (this.#released > 0) this.#draining ??= this.#drain();
  }

  /** True while some delivery added is not recorded yet: its item is still in the queue. */
  get busy(): boolean {
    return this.#draining !== undefined || this.#waiting.length > 0;
  }

  /** Resolves once every delivery added so far is recorded (or its group failed and was logged). */
  async settled(): Promise<void> {
    this.flush();
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#released > 0) {
        const group = this.#waiting.splice(0, this.#released);
        this.#released = 0;
        await this.#record(group);
      }
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
