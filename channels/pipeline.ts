// One deployed channel revision's processing: receive -> store raw (durable) -> channel filter -> channel map
// -> per destination: filter -> map -> enqueue. receive() resolves only after the raw message and every
// queue item are written, so the source may acknowledge to its peer as soon as it has the outcome.
import { errorText, type Logger } from '../runtime/log.ts';
import { processingErrorsTotal, receivedTotal } from './channel-metrics.ts';
import type { DataType, InboundMessage, MessageIndex, ReceiveOutcome, SourceContext } from './connector.ts';
import type { ChannelDefinition, DestinationDefinition } from './definition.ts';
import { evaluateFilter } from './filter.ts';
import { CompiledMap } from './map-step.ts';
import type { DeliveryUpdate, MessageStore } from './message-store.ts';
import type { DeliveryQueue, NewQueueItem } from './queue.ts';
import type { ChannelRegistry } from './registry.ts';

export interface PipelineOptions {
  definition: ChannelDefinition;
  revision: number;
  registry: ChannelRegistry;
  messages: MessageStore;
  queue: DeliveryQueue;
  log: Logger;
  /** Wakes the destination's worker in this process after its items are written. */
  wake(destination: string): void;
}

interface CompiledDestination {
  definition: DestinationDefinition;
  map: CompiledMap | undefined;
}

/** Processing failed with a reason to tell the sender and to record on the message. */
class ProcessingError extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.step = step;
  }
}

export class ChannelPipeline {
  readonly #o: PipelineOptions;
  readonly #map: CompiledMap | undefined;
  readonly #destinations: CompiledDestination[];

  constructor(options: PipelineOptions) {
    this.#o = options;
    const { definition } = options;
    this.#map = definition.map ? new CompiledMap(definition.map) : undefined;
    this.#destinations = definition.destinations.map((d) => ({ definition: d, map: d.map ? new CompiledMap(d.map) : undefined }));
  }

  /** The SourceContext handed to the channel's source connector. */
  context(log: Logger): SourceContext {
    return { channelId: this.#o.definition.id, log, receive: (message) => this.receive(message) };
  }

  async receive(message: InboundMessage, reprocessOf?: string): Promise<ReceiveOutcome> {
    const { definition, revision, messages } = this.#o;
    let messageId: string;
    try {
      messageId = await messages.insertReceived({
        channelId: definition.id,
        revision,
        message,
        destinationNames: definition.destinations.map((d) => d.name),
        ...(reprocessOf === undefined ? {} : { reprocessOf }),
      });
    } catch (error) {
      this.#o.log.error('could not store a received message', { error: errorText(error) });
      return { status: 'error', error: 'could not store the message' };
    }
    receivedTotal.inc({ channel: definition.id });
    try {
      return await this.#process(messageId, message);
    } catch (error) {
      return this.#failed(messageId, error);
    }
  }

  async #failed(messageId: string, error: unknown): Promise<ReceiveOutcome> {
    processingErrorsTotal.inc({ channel: this.#o.definition.id });
    const reason = error instanceof ProcessingError ? error.message : `internal error: ${errorText(error)}`;
    // A script's error text may quote the message (patient data), so it goes to debug only.
    this.#o.log.warn('message processing failed', { messageId, step: error instanceof ProcessingError ? error.step : 'internal' });
    this.#o.log.debug('message processing failed', { messageId }, { error: reason });
    await this.#o.messages.markError(messageId, reason).catch((e: unknown) => {
      this.#o.log.error('could not record a processing error', { messageId, error: errorText(e) });
    });
    return { status: 'error', messageId, error: reason };
  }

  async #process(messageId: string, message: InboundMessage): Promise<ReceiveOutcome> {
    const dataType = this.#o.registry.dataType(message.dataType);
    if (!dataType) throw new ProcessingError('parse', `unknown data type '${message.dataType}'`);
    const document = step('parse', () => dataType.parse(message.raw));
    const index: MessageIndex = { ...step('index', () => dataType.index(document)), ...message.index };
    const { definition } = this.#o;
    if (definition.filter && !step('filter', () => evaluateFilter(definition.filter!, document))) {
      await this.#o.messages.markFiltered(messageId, index, this.#destinations.length);
      return { status: 'filtered', messageId };
    }
    const mapped = this.#map ? step('map', () => this.#map!.apply(document, dataType)) : document;
    const mappedText = mapped.toString();
    const deliveries = this.#destinations.map((d) => this.#destinationDelivery(d, mappedText, dataType));
    // The message record says 'queued' before the items exist; the other order would let a fast worker
    // record 'sent' and then be overwritten by 'queued'.
    await this.#o.messages.markProcessed(messageId, index, mappedText, deliveries);
    await this.#enqueue(messageId, message.dataType, deliveries);
    return { status: 'accepted', messageId };
  }

  #destinationDelivery(destination: CompiledDestination, mappedText: string, dataType: DataType): DeliveryUpdate {
    const { filter } = destination.definition;
    try {
      // Each destination gets its own copy: one destination's map must not change what another sees.
      const document = destination.map || filter ? dataType.parse(mappedText) : undefined;
      if (filter && document && !evaluateFilter(filter, document)) return { state: 'filtered' };
      const content = destination.map && document ? destination.map.apply(document, dataType).toString() : mappedText;
      return { state: 'queued', content, attempts: 0 };
    } catch (error) {
      // A destination's own filter or map failing is that destination's error; the others still get the message.
      return { state: 'error', lastError: `destination ${destination.definition.name}: ${errorText(error)}`, attempts: 0 };
    }
  }

  async #enqueue(messageId: string, dataType: string, deliveries: DeliveryUpdate[]): Promise<void> {
    const items: NewQueueItem[] = [];
    deliveries.forEach((delivery, destinationIndex) => {
      if (delivery.state !== 'queued' || delivery.content === undefined) return;
      const destination = this.#destinations[destinationIndex]!.definition.name;
      items.push({ channelId: this.#o.definition.id, destination, destinationIndex, messageId, content: delivery.content, dataType });
    });
    await this.#o.queue.enqueue(items);
    for (const item of items) this.#o.wake(item.destination);
  }
}

/** Runs one processing step, turning its failure into a reason that names the step. */
function step<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new ProcessingError(name, `${name} failed: ${errorText(error)}`);
  }
}
