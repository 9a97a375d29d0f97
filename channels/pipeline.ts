// One deployed channel revision's processing: receive -> channel filter -> channel map -> per destination:
// filter -> map, all in memory (evaluate.ts); then each destination's check (destination-check.ts); then the raw message
// with that outcome and its queue items are stored in one durable write group. receive() resolves only after
// both are written (and, for a channel that answers after a destination, once that destination had its say),
// so the source may answer its peer from the outcome; a message the hub refused or could not process is stored
// too, with its error, and goes to no destination.
import type { EventEmitter } from 'node:events';
import { errorText, type Logger } from '../runtime/log.ts';
import { processingErrorsTotal, receivedTotal, refusedTotal } from './channel-metrics.ts';
import type { DestinationConnector, InboundMessage, ReceiveOutcome, SourceContext } from './connector.ts';
import type { ChannelDefinition } from './definition.ts';
import { checkDestinations, type DestinationRefusal } from './destination-check.ts';
import type { EngineEvents } from './engine-events.ts';
import { ChannelEvaluator } from './evaluate.ts';
import type { DeliveryUpdate, MessageStore } from './message-store.ts';
import type { DeliveryQueue, NewQueueItem } from './queue.ts';
import type { ChannelRegistry } from './registry.ts';
import { DeliveryWaits, type PendingWait } from './response-wait.ts';

export interface PipelineOptions {
  definition: ChannelDefinition;
  revision: number;
  registry: ChannelRegistry;
  messages: MessageStore;
  queue: DeliveryQueue;
  log: Logger;
  /** Wakes the destination's worker in this process after its items are written. */
  wake(destination: string): void;
  /** The deployed destination connectors, in definition order: their checks run before a message is stored. */
  connectors?: readonly DestinationConnector[];
  /** The engine's delivery events, for a channel that answers after a destination. */
  events?: EventEmitter<EngineEvents>;
}

/** A message evaluated and checked, not yet stored. */
interface Prepared {
  message: InboundMessage;
  outcome: ReturnType<ChannelEvaluator['evaluate']>;
  refusal: DestinationRefusal | undefined;
  messageId: string;
  items: NewQueueItem[];
  wait: PendingWait | undefined;
}

/** The destination a channel answers after, with its place in the definition and how long to wait for it. */
interface AnswerAfter {
  index: number;
  name: string;
  timeoutMs: number;
  waits: DeliveryWaits;
}

export class ChannelPipeline {
  readonly #o: PipelineOptions;
  readonly #evaluator: ChannelEvaluator;
  readonly #answerAfter: AnswerAfter | undefined;

  constructor(options: PipelineOptions) {
    this.#o = options;
    const { definition } = options;
    this.#evaluator = new ChannelEvaluator(definition, options.registry);
    this.#answerAfter = answerAfterOf(definition, options.events);
  }

  /** The SourceContext handed to the channel's source connector. */
  context(log: Logger): SourceContext {
    return {
      channelId: this.#o.definition.id,
      log,
      receive: (message) => this.receive(message),
      receiveMany: (messages) => this.receiveMany(messages),
    };
  }

  async receive(message: InboundMessage, reprocessOf?: string): Promise<ReceiveOutcome> {
    const prepared = await this.#prepare(message);
    const { messageId, items } = prepared;
    // Listening starts before the items exist: a fast worker must not deliver before anyone listens.
    if (this.#answerAfter && items.some((item) => item.destination === this.#answerAfter!.name))
      prepared.wait = this.#answerAfter.waits.wait(messageId, this.#answerAfter.timeoutMs);
    // The message and its queue items are issued together and awaited together: on the embedded engine they
    // share one commit (one fsync per group of writes, see store/embedded/engine.ts), which is what lets a
    // busy MLLP listener acknowledge thousands of messages a second durably. The message is issued first,
    // so it exists before any worker can claim an item and record a delivery on it; a crash between the two
    // is repaired at deploy by the engine's recovery of 'queued' deliveries without an item.
    const stored = Promise.all([
      this.#insert(prepared, reprocessOf),
      items.length > 0 ? this.#o.queue.enqueue(items) : undefined,
    ]);
    return this.#finish(prepared, stored);
  }

  /**
   * Messages a source took together (a batch of exam events), so they share the store's commits instead of each
   * waiting for one of its own before the next is taken: first every message (one commit on the embedded
   * engine), then the queue items of those stored, in one call and in the order of the messages, so an ordered
   * destination sends them in that order on either store. From the first message that could not be stored on,
   * none is queued and each is answered as not stored: the source reads them again, and none of them goes out
   * ahead of the one before it. A destination check reads what is queued, and an answer after a destination
   * waits for it, so with either each message is stored before the next is looked at, as receive() does.
   */
  async receiveMany(messages: readonly InboundMessage[]): Promise<ReceiveOutcome[]> {
    if (this.#answerAfter !== undefined || this.#o.connectors?.some((c) => c.check)) {
      const outcomes: ReceiveOutcome[] = [];
      for (const message of messages) outcomes.push(await this.receive(message));
      return outcomes;
    }
    const prepared: Prepared[] = [];
    for (const message of messages) prepared.push(await this.#prepare(message));
    const inserted = await Promise.allSettled(prepared.map((p) => this.#insert(p)));
    const failed = inserted.findIndex((result) => result.status === 'rejected');
    const stored = failed < 0 ? prepared : prepared.slice(0, failed);
    const items = stored.flatMap((p) => p.items);
    const queued = items.length > 0 ? this.#o.queue.enqueue(items) : Promise.resolve();
    // Awaited in each #finish, so its failure is each queued message's; not an unhandled rejection meanwhile.
    queued.catch(() => undefined);
    if (failed >= 0) await this.#unqueue(prepared.slice(failed + 1), inserted.slice(failed + 1));
    const failure = failed < 0 ? undefined : (inserted[failed] as PromiseRejectedResult).reason;
    const notStored = new Error('a message received before it in the same batch could not be stored');
    return Promise.all(
      prepared.map((p, i) => {
        if (i >= stored.length) return this.#finish(p, Promise.reject(i === failed ? failure : notStored));
        return this.#finish(p, p.items.length > 0 ? queued : Promise.resolve());
      }),
    );
  }

  /**
   * Messages of a batch stored after one that was not: their deliveries are marked errored, not left queued
   * without an item, which the recovery at deploy would queue behind the source's second copy of them.
   */
  async #unqueue(after: Prepared[], inserted: Array<PromiseSettledResult<void>>): Promise<void> {
    const { messages, log } = this.#o;
    const lastError = 'not queued: a message received before it could not be stored; the source receives it again';
    await Promise.all(
      after.flatMap((p, i) =>
        inserted[i]?.status !== 'fulfilled'
          ? []
          : p.items.map((item) =>
              messages
                .updateDelivery(p.messageId, item.destinationIndex, { state: 'error', lastError })
                .catch((error: unknown) =>
                  log.error('could not mark a delivery of an unqueued message', { error: errorText(error) }),
                ),
            ),
      ),
    );
  }

  /** Filter, maps and destination checks: everything decided before the message is stored. */
  async #prepare(message: InboundMessage): Promise<Prepared> {
    let outcome = this.#evaluator.evaluate(message);
    const refusal = outcome.state === 'processed' ? await this.#check(outcome.deliveries, message.dataType) : undefined;
    if (refusal) {
      const error = `refused by destination '${refusal.destination}': ${refusal.error}`;
      outcome = { state: 'error', index: outcome.index, error };
    }
    const messageId = this.#o.messages.newId();
    const items =
      outcome.state === 'processed' ? this.#queueItems(messageId, message.dataType, outcome.deliveries) : [];
    return { message, outcome, refusal, messageId, items, wait: undefined };
  }

  /** The message's own write, with its outcome. */
  #insert(prepared: Prepared, reprocessOf?: string): Promise<void> {
    const { definition, revision, messages } = this.#o;
    return messages.insertMessage(
      {
        channelId: definition.id,
        revision,
        message: prepared.message,
        destinationNames: definition.destinations.map((d) => d.name),
        ...(reprocessOf === undefined ? {} : { reprocessOf }),
      },
      prepared.messageId,
      prepared.outcome,
    );
  }

  /** Once the writes are durable: the workers woken and the outcome the source answers its peer with. */
  async #finish(prepared: Prepared, stored: Promise<unknown>): Promise<ReceiveOutcome> {
    const { definition } = this.#o;
    const { messageId, outcome, refusal, items, wait } = prepared;
    try {
      await stored;
    } catch (error) {
      wait?.cancel();
      this.#o.log.error('could not store a received message', { error: errorText(error) });
      return { status: 'error', error: 'could not store the message' };
    }
    receivedTotal.inc({ channel: definition.id });
    for (const item of items) this.#o.wake(item.destination);
    if (outcome.state === 'filtered') return { status: 'filtered', messageId };
    if (refusal) return this.#refused(messageId, refusal);
    if (outcome.state === 'error') return this.#failed(messageId, outcome.error);
    if (this.#answerAfter) return this.#afterDestination(messageId, outcome.deliveries[this.#answerAfter.index], wait);
    return { status: 'accepted', messageId };
  }

  async #check(deliveries: DeliveryUpdate[], dataType: string): Promise<DestinationRefusal | undefined> {
    const { connectors, definition, queue, log } = this.#o;
    if (!connectors?.some((c) => c.check)) return undefined;
    const { id: channelId, destinations } = definition;
    return checkDestinations({ channelId, destinations, connectors, deliveries, dataType, queue, log });
  }

  #refused(messageId: string, refusal: DestinationRefusal): ReceiveOutcome {
    refusedTotal.inc({ channel: this.#o.definition.id, destination: refusal.destination });
    // The reason may quote the message (order numbers), so only where it points goes above debug.
    const where = { messageId, destination: refusal.destination, path: refusal.path, code: refusal.code };
    this.#o.log.warn('message refused by a destination check', where);
    this.#o.log.debug('message refused by a destination check', { messageId }, { error: refusal.error });
    const { destination, ...rest } = refusal;
    return { status: 'refused', messageId, refusal: rest };
  }

  /** The outcome of the destination the channel answers after: sent or queued is accepted, failed is an error. */
  async #afterDestination(
    messageId: string,
    delivery: DeliveryUpdate | undefined,
    wait: PendingWait | undefined,
  ): Promise<ReceiveOutcome> {
    const name = this.#answerAfter!.name;
    if (delivery?.state === 'error') {
      return { status: 'error', messageId, error: `${name}: ${delivery.lastError ?? 'failed'}` };
    }
    if (!wait) return { status: 'accepted', messageId };
    const word = (await wait.settled) ?? (await this.#storedWord(messageId));
    if (word.state === 'error') return { status: 'error', messageId, error: `${name}: ${word.error}` };
    return { status: 'accepted', messageId };
  }

  /** No event in time (a paused queue, a backlog, another process delivering): what the store says now. */
  async #storedWord(messageId: string): Promise<{ state: 'sent' | 'queued' } | { state: 'error'; error: string }> {
    const stored = await this.#o.messages.get(messageId).catch(() => null);
    const delivery = stored?.destinations[this.#answerAfter!.index];
    if (delivery?.state === 'error') return { state: 'error', error: delivery.lastError ?? 'failed' };
    return { state: delivery?.state === 'sent' ? 'sent' : 'queued' };
  }

  #failed(messageId: string, reason: string): ReceiveOutcome {
    processingErrorsTotal.inc({ channel: this.#o.definition.id });
    // A script's error text may quote the message (patient data), so the reason goes to debug only.
    this.#o.log.warn('message processing failed', { messageId });
    this.#o.log.debug('message processing failed', { messageId }, { error: reason });
    return { status: 'error', messageId, error: reason };
  }

  #queueItems(messageId: string, dataType: string, deliveries: DeliveryUpdate[]): NewQueueItem[] {
    const items: NewQueueItem[] = [];
    deliveries.forEach((delivery, destinationIndex) => {
      if (delivery.state !== 'queued' || delivery.content === undefined) return;
      const destination = this.#o.definition.destinations[destinationIndex]!.name;
      items.push({
        channelId: this.#o.definition.id,
        destination,
        destinationIndex,
        messageId,
        content: delivery.content,
        dataType,
      });
    });
    return items;
  }
}

function answerAfterOf(definition: ChannelDefinition, events?: EventEmitter<EngineEvents>): AnswerAfter | undefined {
  const response = definition.response;
  if (response === undefined || response === 'after-validation' || !events) return undefined;
  const name = response.afterDestination;
  const index = definition.destinations.findIndex((d) => d.name === name);
  if (index < 0) return undefined;
  return { index, name, timeoutMs: response.timeoutMs, waits: new DeliveryWaits(events, definition.id, name) };
}
