// Delivers one destination's queue. Ordered (the default, what HL7 receivers expect): the worker holding the
// destination lock sends the head; a failing head blocks the destination and is retried with backoff.
// Unordered: any worker claims any due item; a failing item gets a later next-attempt time and the others
// go ahead. Workers wake when the pipeline enqueues in this process and poll for the rest (other processes'
// enqueues, expired leases, due retries).
import type { EventEmitter } from 'node:events';
import { errorText, type Logger } from '../runtime/log.ts';
import { retryDelayMs } from './backoff.ts';
import { deliveryErrorsTotal, forgetQueueDepth, retriesTotal, sentTotal, setQueueDepth } from './channel-metrics.ts';
import type { DestinationConnector, SendResult } from './connector.ts';
import type { DestinationDefinition } from './definition.ts';
import type { EngineEvents } from './engine-events.ts';
import type { MessageStore } from './message-store.ts';
import type { DeliveryQueue, QueueItem } from './queue.ts';
import { WakeSignal } from './wake-signal.ts';

export interface QueueWorkerOptions {
  channelId: string;
  destination: DestinationDefinition;
  connector: DestinationConnector;
  queue: DeliveryQueue;
  messages: MessageStore;
  events: EventEmitter<EngineEvents>;
  log: Logger;
  /** This process's identity in leases. */
  owner: string;
  leaseMs: number;
  pollMs: number;
  /** How long stop() waits for a delivery in flight before giving up on it (its lease then lets a restart redo it). */
  stopTimeoutMs?: number;
}

const depthRefreshMs = 1000;
const batchSize = 50;

export class QueueWorker {
  readonly #o: QueueWorkerOptions;
  readonly #signal = new WakeSignal();
  #running = false;
  #loop: Promise<void> | undefined;
  #depthAt = 0;
  /** Ordered: item ids in queue order, re-read one by one. Unordered: due candidates to claim. */
  #batch: string[] = [];
  /** Local clock time before which this worker surely holds the ordered destination's lock. */
  #lockValidUntil = 0;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: QueueWorkerOptions) {
    this.#o = options;
  }

  get destinationName(): string {
    return this.#o.destination.name;
  }

  async start(): Promise<void> {
    await this.#o.queue.ensureDestination(this.#o.channelId, this.#o.destination.name);
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Called after an enqueue or a resume in this process. */
  wake(): void {
    this.#signal.wake();
  }

  /** Lets a delivery in flight finish and record its result, then stops. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.wake();
    if (!(await settlesWithin(this.#loop, this.#o.stopTimeoutMs ?? 10_000))) {
      // A peer that never answers must not keep the hub from shutting down; the item stays queued, and with
      // its lease no longer renewed another process (or the next start) can take it over.
      clearInterval(this.#heartbeat);
      this.#o.log.warn('a delivery did not finish before stop; it will be retried after its lease', { leaseMs: this.#o.leaseMs });
      return;
    }
    if (this.#o.destination.queue === 'ordered') {
      this.#lockValidUntil = 0;
      await this.#o.queue.releaseLock(this.#o.channelId, this.#o.destination.name, this.#o.owner).catch(() => {});
    }
    forgetQueueDepth(this.#o.channelId, this.#o.destination.name);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let waitMs: number;
      try {
        waitMs = this.#o.destination.queue === 'ordered' ? await this.#orderedStep() : await this.#unorderedStep();
        await this.#refreshDepth();
      } catch (error) {
        // A store hiccup must not end the worker: the items are durable, so try again after a poll.
        this.#o.log.error('queue worker step failed', { error: errorText(error) });
        waitMs = this.#o.pollMs;
      }
      if (waitMs > 0 && this.#running) await this.#signal.wait(waitMs);
    }
  }

  /** Returns how long to sleep before the next step (0: go on at once). */
  async #orderedStep(): Promise<number> {
    const { queue, channelId, destination, pollMs } = this.#o;
    const state = await queue.destinationState(channelId, destination.name);
    if (state?.paused) return pollMs;
    if (!(await this.#holdLock())) {
      this.#batch = [];
      return pollMs;
    }
    if (this.#batch.length === 0) this.#batch = (await queue.heads(channelId, destination.name, batchSize)).map((i) => i._id);
    const headId = this.#batch[0];
    if (headId === undefined) return pollMs;
    // Re-read: the head may have been settled by a process that held the lock while this one had lost it.
    const head = await queue.item(headId);
    if (!head) {
      this.#batch = [];
      return 0;
    }
    const dueIn = head.nextAttemptAt.getTime() - Date.now();
    if (dueIn > 0) return Math.min(dueIn, pollMs);
    const settled = await this.#deliver(head, () => this.#takeLock());
    if (settled) this.#batch.shift();
    return 0;
  }

  /**
   * Takes or renews the destination lock, but writes only when half the lease is used: until its expiry
   * nobody else can take it, so a renewal per message would be a commit per message for nothing.
   */
  async #holdLock(): Promise<boolean> {
    if (Date.now() < this.#lockValidUntil - this.#o.leaseMs / 2) return true;
    return this.#takeLock();
  }

  async #takeLock(): Promise<boolean> {
    const { queue, channelId, destination, owner, leaseMs } = this.#o;
    const now = Date.now();
    const held = await queue.acquireLock(channelId, destination.name, owner, leaseMs);
    this.#lockValidUntil = held ? now + leaseMs : 0;
    return held;
  }

  async #unorderedStep(): Promise<number> {
    const { queue, channelId, destination, owner, leaseMs, pollMs } = this.#o;
    const state = await queue.destinationState(channelId, destination.name);
    if (state?.paused) return pollMs;
    if (this.#batch.length === 0) this.#batch = await queue.dueCandidates(channelId, destination.name, batchSize);
    const candidate = this.#batch.shift();
    if (candidate === undefined) {
      const next = await queue.nextDueAt(channelId, destination.name);
      return next ? Math.min(Math.max(next.getTime() - Date.now(), 1), pollMs) : pollMs;
    }
    // Another worker may have taken it since the candidates were read; then simply go on to the next.
    const item = await queue.claim(candidate, owner, leaseMs);
    if (item) await this.#deliver(item, () => queue.renewItemLease(item._id, owner, leaseMs));
    return 0;
  }

  /**
   * Sends one item while a heartbeat keeps its lease (lock or item lease) alive, then records the result.
   * True when the item left the queue (sent or given up).
   */
  async #deliver(item: QueueItem, renewLease: () => Promise<boolean>): Promise<boolean> {
    const attempt = item.attempts + 1;
    this.#heartbeat = setInterval(() => void renewLease().catch(() => false), Math.max(10, Math.floor(this.#o.leaseMs / 3)));
    let result: SendResult;
    try {
      result = await this.#o.connector.send({
        messageId: item.messageId,
        channelId: item.channelId,
        destinationName: item.destination,
        content: item.content,
        dataType: item.dataType,
        attempt,
      });
    } catch (error) {
      // A connector should return 'retry', not throw; treat a throw the same so the hub keeps running.
      result = { status: 'retry', error: errorText(error) };
    } finally {
      clearInterval(this.#heartbeat);
    }
    return this.#settle(item, attempt, result);
  }

  async #settle(item: QueueItem, attempts: number, result: SendResult): Promise<boolean> {
    if (result.status === 'sent') {
      await this.#sent(item, attempts, result.response);
      return true;
    }
    const { destination } = this.#o;
    const exhausted = result.status === 'failed' || (destination.maxAttempts > 0 && attempts >= destination.maxAttempts);
    if (!exhausted) {
      await this.#retry(item, attempts, result.error, result.response);
      return false;
    }
    if (result.status === 'retry' && destination.onExhausted === 'pause') {
      await this.#pauseOnExhausted(item, attempts, result.error, result.response);
      return false;
    }
    await this.#giveUp(item, attempts, result.error, result.response);
    return true;
  }

  async #sent(item: QueueItem, attempts: number, response: string | undefined): Promise<void> {
    // The message record first: a crash between the two writes re-sends (at least once), never loses.
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, { state: 'sent', attempts, lastError: null, response: response ?? null });
    await this.#o.queue.remove(item._id);
    sentTotal.inc(this.#labels());
    this.#o.events.emit('delivery-sent', { channelId: item.channelId, destination: item.destination, messageId: item.messageId, attempts });
  }

  async #retry(item: QueueItem, attempts: number, error: string, response: string | undefined): Promise<void> {
    const delay = retryDelayMs(this.#o.destination.retry, attempts);
    await this.#o.queue.reschedule(item._id, attempts, new Date(Date.now() + delay), error);
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, { state: 'queued', attempts, lastError: error, response: response ?? null });
    retriesTotal.inc(this.#labels());
    this.#o.log.warn('delivery failed, will retry', { messageId: item.messageId, attempts, retryInMs: delay, error });
    this.#o.events.emit('delivery-retry', this.#event(item, attempts, error));
  }

  async #giveUp(item: QueueItem, attempts: number, error: string, response: string | undefined): Promise<void> {
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, { state: 'error', attempts, lastError: error, response: response ?? null });
    await this.#o.queue.remove(item._id);
    this.#errored(item, attempts, error);
  }

  async #pauseOnExhausted(item: QueueItem, attempts: number, error: string, response: string | undefined): Promise<void> {
    const { queue, channelId, destination } = this.#o;
    await this.#o.messages.updateDelivery(item.messageId, item.destinationIndex, { state: 'error', attempts, lastError: error, response: response ?? null });
    // The item stays at the head with a fresh attempt count, so resuming retries it in order.
    await queue.reschedule(item._id, 0, new Date(), error);
    await queue.setPaused(channelId, destination.name, true);
    this.#errored(item, attempts, error);
    this.#o.log.warn('destination paused after max attempts', { messageId: item.messageId });
    this.#o.events.emit('destination-paused', { channelId, destination: destination.name });
  }

  #errored(item: QueueItem, attempts: number, error: string): void {
    deliveryErrorsTotal.inc(this.#labels());
    this.#o.log.error('delivery failed for good', { messageId: item.messageId, attempts, error });
    this.#o.events.emit('delivery-error', this.#event(item, attempts, error));
  }

  #event(item: QueueItem, attempts: number, error: string): EngineEvents['delivery-error'][0] {
    return { channelId: item.channelId, destination: item.destination, messageId: item.messageId, attempts, error };
  }

  #labels(): Record<string, string> {
    return { channel: this.#o.channelId, destination: this.#o.destination.name };
  }

  async #refreshDepth(): Promise<void> {
    const now = Date.now();
    if (now - this.#depthAt < depthRefreshMs) return;
    this.#depthAt = now;
    setQueueDepth(this.#o.channelId, this.#o.destination.name, await this.#o.queue.depth(this.#o.channelId, this.#o.destination.name));
  }
}

async function settlesWithin(promise: Promise<void> | undefined, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([(promise ?? Promise.resolve()).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
