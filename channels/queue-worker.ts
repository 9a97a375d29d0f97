// Delivers one destination's queue. Ordered (the default, what HL7 receivers expect): the worker holding the
// destination lock sends the head; a failing head blocks the destination and is retried with backoff.
// Unordered: any worker claims any due item, and up to the destination's concurrency of them are in flight at
// once (a mail server or fax gateway takes several connections, and a fax waits seconds for its final status);
// a failing item gets a later next-attempt time and the others go ahead. Workers wake when the pipeline enqueues in this process and poll for the rest (other processes'
// enqueues, expired leases, due retries).
// A sent delivery is recorded by a SentRecorder while the worker goes on with the next item, so a destination
// is not bound by the store's commit latency; only a failed attempt waits for those records (see #settle).
import type { EventEmitter } from 'node:events';
import { errorText, type Logger } from '../runtime/log.ts';
import { forgetQueueDepth, setQueueDepth } from './channel-metrics.ts';
import type { AttemptResult, DestinationConnector, OutboundMessage, SendResult } from './connector.ts';
import { type DestinationDefinition, defaultConcurrency } from './definition.ts';
import type { EngineEvents } from './engine-events.ts';
import type { MessageStore } from './message-store.ts';
import type { DeliveryQueue, QueueItem } from './queue.ts';
import { DeliveryOutcomes } from './delivery-outcomes.ts';
import { SentRecorder } from './sent-recorder.ts';
import { settlesWithin } from './settles-within.ts';
import { StepGate } from './step-gate.ts';
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
  /**
   * Items enqueued before this time are replays: an earlier process may have been in the middle of one when it
   * stopped. Before such an item is sent (by a connector that works in this process: no sendSequence), that an
   * attempt began is written to it, and an item two attempts of which never ended is parked as errored, not
   * tried again: a message that stalls or kills the hub must not do so at every start. Default: none.
   */
  replayBefore?: Date;
  /** An attempt that fails after longer than this counts as unfinished too. Default 30000. */
  budgetMs?: number;
}

const depthRefreshMs = 1000;
/** A count reads every item of the queue: with a deep queue, count less often so counting stays ~1 % of the time. */
const depthCostFactor = 100;
const batchSize = 50;
/** Unfinished attempts (see QueueItem.unfinished) after which an item is parked. */
const maxUnfinished = 2;
/** How stale the pause flag may get while a worker works through a batch it has read. */
const pauseCheckMs = 100;

export class QueueWorker {
  readonly #o: QueueWorkerOptions;
  readonly #signal = new WakeSignal();
  #running = false;
  #loop: Promise<void> | undefined;
  #depthAt = 0;
  #depthEveryMs = depthRefreshMs;
  /** Ordered: the head items in queue order, as read while this worker held the lock. */
  #heads: QueueItem[] = [];
  /** Ordered: the seq of the last item sent since the queue was last read in full. */
  #lastSentSeq: number | undefined;
  #failuresSeen = 0;
  /** Unordered: due candidates to claim. */
  #candidates: string[] = [];
  /** Unordered: deliveries in flight, each of which settles its own item. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #recorder: SentRecorder;
  readonly #outcomes: DeliveryOutcomes;
  /** Local clock time before which this worker surely holds the ordered destination's lock. */
  #lockValidUntil = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Unordered: the lease heartbeats of the deliveries in flight. */
  readonly #beats = new Set<NodeJS.Timeout>();
  #pauseCheckedAt = 0;
  readonly #gate = new StepGate();

  constructor(options: QueueWorkerOptions) {
    this.#o = options;
    this.#outcomes = new DeliveryOutcomes(options);
    this.#recorder = new SentRecorder({
      queue: options.queue,
      messages: options.messages,
      log: options.log,
      recorded: (d) => this.#outcomes.recordedSent(d),
    });
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

  /** Runs a console change to this destination's items between two steps, then reads the queue again. */
  between<T>(change: () => Promise<T>): Promise<T> {
    return this.#gate.between(
      // The gate holds back new steps; deliveries already in flight end before the change too.
      () => this.#drained().then(change),
      () => {
        this.#forgetRead();
        this.#signal.wake();
      },
    );
  }

  /** Lets a delivery in flight finish and record its result, then stops. */
  async stop(): Promise<void> {
    this.#running = false;
    // The connector gives up what has not gone out yet, so the wait below is for what was sent.
    this.#o.connector.stopping?.();
    this.#signal.wake();
    if (!(await settlesWithin(this.#loop, this.#o.stopTimeoutMs ?? 10_000))) {
      // A peer that never answers must not keep the hub from shutting down; the item stays queued, and with
      // its lease no longer renewed another process (or the next start) can take it over.
      clearInterval(this.#heartbeat);
      for (const beat of this.#beats) clearInterval(beat);
      this.#o.log.warn('a delivery did not finish before stop; it will be retried after its lease', {
        leaseMs: this.#o.leaseMs,
      });
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
        const ordered = this.#o.destination.queue === 'ordered';
        waitMs = await this.#gate.step(() => (ordered ? this.#orderedStep() : this.#unorderedStep()));
        await this.#refreshDepth();
      } catch (error) {
        // A store hiccup must not end the worker: the items are durable, so try again after a poll.
        this.#o.log.error('queue worker step failed', { error: errorText(error) });
        // What was read before may be stale now (a head whose failure could not be recorded): read again.
        this.#forgetRead();
        waitMs = this.#o.pollMs;
      }
      if (waitMs > 0 && this.#running) await this.#signal.wait(waitMs);
      // A backlog (a replay after a restart) gives the event loop a turn between steps: HTTP and sockets go on.
      else if (this.#running) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.#drained();
  }

  /** Resolves once no delivery is in flight and every sent one is recorded. */
  async #drained(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await this.#recorder.settled();
  }

  /** Returns how long to sleep before the next step (0: go on at once). */
  async #orderedStep(): Promise<number> {
    const { pollMs } = this.#o;
    if (await this.#paused(this.#heads.length > 0)) return pollMs;
    if (!(await this.#holdLock())) {
      this.#forgetHeads();
      return pollMs;
    }
    if (this.#heads.length === 0) this.#heads = await this.#readHeads();
    // Only the lock holder changes a destination's items, and #takeLock drops this list whenever the lock had
    // lapsed, so what was read under the lock is still what the store holds.
    const head = this.#heads[0];
    if (head === undefined) return pollMs;
    const dueIn = head.nextAttemptAt.getTime() - Date.now();
    if (dueIn > 0) return Math.min(dueIn, pollMs);
    return this.#orderedRun();
  }

  /**
   * Hands the due heads to a connector that sends a run itself (see DestinationConnector.sendSequence): each sent
   * item is recorded as its result comes in, and the first one that is not sent ends the run and is settled
   * like any failed attempt, so order, retries and pausing stay as in a step per item. A connector without runs
   * gets a run of the head alone, so the pause is checked again before each item.
   */
  async #orderedRun(): Promise<number> {
    const { connector } = this.#o;
    const now = Date.now();
    const run: QueueItem[] = [];
    for (const item of this.#heads) {
      // A retried item waits for its time, and everything behind it waits too.
      if (item.nextAttemptAt.getTime() > now) break;
      run.push(item);
      if (connector.sendSequence === undefined) break;
    }
    const sendSequence =
      connector.sendSequence?.bind(connector) ??
      (async ([message]: OutboundMessage[], onResult: (index: number, result: SendResult) => void) =>
        onResult(0, await this.#sendCatching(message!)));
    const single = connector.sendSequence === undefined ? run[0] : undefined;
    if (single !== undefined && (await this.#parkedBeforeSending(single))) {
      this.#heads.shift();
      return 0;
    }
    const marked = single !== undefined && (await this.#markIfReplay(single));
    const startedAt = performance.now();
    let failed: { item: QueueItem; attempt: number; result: AttemptResult } | undefined;
    this.#startHeartbeat(() => this.#takeLock());
    try {
      await sendSequence(
        run.map((item) => this.#outbound(item, item.attempts + 1)),
        (index, result) => {
          const item = run[index];
          // Not attempted (the connector is stopping), like an item not reported: it stays at the head.
          if (item === undefined || result.status === 'not-sent') return;
          if (this.#heads[0] === item) this.#heads.shift();
          const attempt = item.attempts + 1;
          if (result.status !== 'sent') {
            failed = { item, attempt, result };
            return;
          }
          this.#lastSentSeq = item.seq;
          this.#recorder.add({ item, attempts: attempt, response: result.response ?? null });
        },
      );
    } catch (error) {
      // A connector should report, not throw; what it did not report is still at the head and goes again.
      this.#o.log.error('destination run failed', { error: errorText(error) });
    } finally {
      clearInterval(this.#heartbeat);
    }
    const overran = single !== undefined && performance.now() - startedAt > this.#budgetMs;
    if (
      failed !== undefined &&
      !(await this.#settle(failed.item, failed.attempt, failed.result, unfinishedAfter(failed.item, marked, overran)))
    )
      this.#heads = [];
    return 0;
  }

  get #budgetMs(): number {
    return this.#o.budgetMs ?? 30_000;
  }

  /** Parks an item whose earlier attempts did not end twice; true when it did (the item left the queue). */
  async #parkedBeforeSending(item: QueueItem): Promise<boolean> {
    if ((item.unfinished ?? 0) < maxUnfinished) return false;
    await this.#recorder.settled();
    await this.#outcomes.park(item, this.#budgetMs);
    return true;
  }

  /** For a replayed item, records that an attempt begins (see replayBefore); true when it did. */
  async #markIfReplay(item: QueueItem): Promise<boolean> {
    const { replayBefore } = this.#o;
    if (replayBefore === undefined || item.enqueuedAt.getTime() >= replayBefore.getTime()) return false;
    const unfinished = (item.unfinished ?? 0) + 1;
    await this.#o.queue.markUnfinished(item._id, unfinished);
    item.unfinished = unfinished;
    return true;
  }

  /**
   * The next heads in queue order. Items sent but not yet recorded are still in the queue: while the recorder
   * works, read only what comes after the last item sent, so sending goes on without waiting for a commit and
   * fdatasync every batch. An item another process enqueued with an earlier seq meanwhile is found by the
   * full read once the recorder is idle; a group that could not be recorded makes the next read a full one, so
   * its items are sent again in their place.
   */
  async #readHeads(): Promise<QueueItem[]> {
    const { queue, channelId, destination } = this.#o;
    const after = this.#lastSentSeq;
    if (after !== undefined && this.#recorder.busy && this.#recorder.failures === this.#failuresSeen) {
      const heads = await queue.heads(channelId, destination.name, batchSize, after);
      if (heads.length > 0) return heads;
    }
    await this.#recorder.settled();
    this.#failuresSeen = this.#recorder.failures;
    this.#lastSentSeq = undefined;
    return queue.heads(channelId, destination.name, batchSize);
  }

  /**
   * Reads the pause flag before the worker reads its queue, and at least every pauseCheckMs while it works
   * through what it read: a store read per message would cost about as much as the send itself. So a pause
   * takes effect at once on an idle destination and within pauseCheckMs on a busy one.
   */
  async #paused(midBatch: boolean): Promise<boolean> {
    const now = Date.now();
    if (midBatch && now - this.#pauseCheckedAt < pauseCheckMs) return false;
    const state = await this.#o.queue.destinationState(this.#o.channelId, this.#o.destination.name);
    this.#pauseCheckedAt = now;
    return state?.paused === true;
  }

  /**
   * Takes or renews the destination lock, but writes only when half the lease is used: until its expiry
   * nobody else can take it, so a renewal per message would be a commit per message for nothing.
   */
  #forgetHeads(): void {
    this.#heads = [];
    this.#lastSentSeq = undefined;
  }

  #forgetRead(): void {
    this.#forgetHeads();
    this.#candidates = [];
  }

  async #holdLock(): Promise<boolean> {
    if (Date.now() < this.#lockValidUntil - this.#o.leaseMs / 2) return true;
    return this.#takeLock();
  }

  async #takeLock(): Promise<boolean> {
    const { queue, channelId, destination, owner, leaseMs } = this.#o;
    const now = Date.now();
    // Another process may have held the lock (and delivered) since it lapsed: what was read before is stale.
    if (now >= this.#lockValidUntil) this.#forgetHeads();
    const held = await queue.acquireLock(channelId, destination.name, owner, leaseMs);
    this.#lockValidUntil = held ? now + leaseMs : 0;
    return held;
  }

  async #unorderedStep(): Promise<number> {
    const { queue, channelId, destination, owner, leaseMs, pollMs } = this.#o;
    if (this.#inFlight.size >= (destination.concurrency ?? defaultConcurrency)) {
      await Promise.race(this.#inFlight);
      return 0;
    }
    if (await this.#paused(this.#candidates.length > 0)) return pollMs;
    if (this.#candidates.length === 0) {
      // Sent items are queued (and leased) until recorded: read the candidates once they are gone.
      await this.#recorder.settled();
      this.#candidates = await queue.dueCandidates(channelId, destination.name, batchSize);
    }
    const candidate = this.#candidates.shift();
    if (candidate === undefined) {
      // A delivery that ends wakes the worker: its item may be due again, or more may have come meanwhile.
      if (this.#inFlight.size > 0) return pollMs;
      const next = await queue.nextDueAt(channelId, destination.name);
      return next ? Math.min(Math.max(next.getTime() - Date.now(), 1), pollMs) : pollMs;
    }
    // Another worker may have taken it since the candidates were read; then simply go on to the next.
    const item = await queue.claim(candidate, owner, leaseMs);
    if (!item) return 0;
    const delivery: Promise<void> = this.#deliverClaimed(item).finally(() => {
      this.#inFlight.delete(delivery);
      this.#signal.wake();
    });
    this.#inFlight.add(delivery);
    return 0;
  }

  /** Sends a claimed item and records the result; the item keeps its lease until then. */
  async #deliverClaimed(item: QueueItem): Promise<void> {
    const { queue, owner, leaseMs } = this.#o;
    try {
      const inProcess = this.#o.connector.sendSequence === undefined;
      if (inProcess && (await this.#parkedBeforeSending(item))) return;
      const before = item.unfinished ?? 0;
      const marked = inProcess && (await this.#markIfReplay(item));
      const attempt = item.attempts + 1;
      const startedAt = performance.now();
      const result = await this.#send(item, attempt, () => queue.renewItemLease(item._id, owner, leaseMs));
      const overran = inProcess && performance.now() - startedAt > this.#budgetMs;
      // Not attempted (the connector is stopping): the item is given back as it was.
      if (result.status === 'not-sent') {
        if (marked) await queue.markUnfinished(item._id, before);
        await queue.releaseItem(item._id, owner);
      } else {
        await this.#settle(item, attempt, result, unfinishedAfter(item, marked, overran));
      }
    } catch (error) {
      // As a failed step: the item keeps its lease until it runs out and is then claimed again.
      this.#o.log.error('queue worker delivery failed', { error: errorText(error) });
      this.#forgetRead();
    }
  }

  /** Renews a lease (the ordered lock or an item's) every third of its length until clearInterval(#heartbeat). */
  #startHeartbeat(renew: () => Promise<boolean>): void {
    this.#heartbeat = heartbeat(renew, this.#o.leaseMs);
  }

  /** Sends one item while a heartbeat of its own keeps its lease alive (several may be in flight). */
  async #send(item: QueueItem, attempt: number, renewLease: () => Promise<boolean>): Promise<SendResult> {
    const beat = heartbeat(renewLease, this.#o.leaseMs);
    this.#beats.add(beat);
    try {
      return await this.#sendCatching(this.#outbound(item, attempt));
    } finally {
      clearInterval(beat);
      this.#beats.delete(beat);
    }
  }

  async #sendCatching(message: OutboundMessage): Promise<SendResult> {
    try {
      return await this.#o.connector.send(message);
    } catch (error) {
      // A connector should return 'retry', not throw; treat a throw the same so the hub keeps running.
      return { status: 'retry', error: errorText(error) };
    }
  }

  #outbound(item: QueueItem, attempt: number): OutboundMessage {
    const { messageId, channelId, destination: destinationName, content, dataType } = item;
    const message: OutboundMessage = { messageId, channelId, destinationName, content, dataType, attempt };
    if (item.resendAll) message.resendAll = true;
    return message;
  }

  /**
   * Records the result of an attempt; true when the item left the queue (sent or given up). `unfinished` is
   * the item's count of unfinished attempts after this one (see QueueItem.unfinished).
   */
  async #settle(item: QueueItem, attempts: number, result: AttemptResult, unfinished = 0): Promise<boolean> {
    if (result.status === 'sent') {
      this.#recorder.add({ item, attempts, response: result.response ?? null });
      return true;
    }
    // Failures are rare and change the queue's head: record them after the sends before them, one by one.
    await this.#recorder.settled();
    const { destination } = this.#o;
    const exhausted =
      result.status === 'failed' || (destination.maxAttempts > 0 && attempts >= destination.maxAttempts);
    if (!exhausted && unfinished >= maxUnfinished) {
      await this.#parkedBeforeSending({ ...item, attempts, unfinished, lastError: result.error });
      return true;
    }
    if (!exhausted) {
      await this.#outcomes.retry(item, attempts, result.error, result.response, unfinished);
      return false;
    }
    if (result.status === 'retry' && destination.onExhausted === 'pause') {
      await this.#outcomes.pauseOnExhausted(item, attempts, result.error, result.response);
      return false;
    }
    await this.#outcomes.giveUp(item, attempts, result.error, result.response);
    return true;
  }

  async #refreshDepth(): Promise<void> {
    const now = Date.now();
    if (now - this.#depthAt < this.#depthEveryMs) return;
    this.#depthAt = now;
    const depth = await this.#o.queue.depth(this.#o.channelId, this.#o.destination.name);
    this.#depthEveryMs = Math.max(depthRefreshMs, (Date.now() - now) * depthCostFactor);
    setQueueDepth(this.#o.channelId, this.#o.destination.name, depth);
  }
}

/** Renews a lease every third of its length until the interval is cleared. */
function heartbeat(renew: () => Promise<boolean>, leaseMs: number): NodeJS.Timeout {
  return setInterval(() => void renew().catch(() => false), Math.max(10, Math.floor(leaseMs / 3)));
}

/** An attempt that ended: it no longer counts unless it overran the budget (counted once, marked or not). */
function unfinishedAfter(item: QueueItem, marked: boolean, overran: boolean): number {
  if (!overran) return 0;
  return marked ? (item.unfinished ?? 1) : (item.unfinished ?? 0) + 1;
}
