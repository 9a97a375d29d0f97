// One deployed channel revision's processing: receive -> channel filter -> channel map -> per destination:
// filter -> map, all in memory; then the raw message with that outcome and its queue items are stored in one
// durable write group. receive() resolves only after both are written, so the source may acknowledge to its
// peer as soon as it has the outcome; a message the hub could not process is stored too, with its error.
import { errorText, type Logger } from '../runtime/log.ts';
import { processingErrorsTotal, receivedTotal } from './channel-metrics.ts';
import type { DataType, InboundMessage, MessageIndex, ReceiveOutcome, SourceContext } from './connector.ts';
import type { ChannelDefinition, DestinationDefinition } from './definition.ts';
import { evaluateFilter } from './filter.ts';
import { CompiledMap } from './map-step.ts';
import type { DeliveryUpdate, MessageStore, ProcessingOutcome } from './message-store.ts';
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
    const outcome = this.#evaluate(message);
    const messageId = messages.newId();
    const items = outcome.state === 'processed' ? this.#queueItems(messageId, message.dataType, outcome.deliveries) : [];
    try {
      // The message and its queue items are issued together and awaited together: on the embedded engine they
      // share one commit (one fsync per group of writes, see store/embedded/engine.ts), which is what lets a
      // busy MLLP listener acknowledge thousands of messages a second durably. The message is issued first,
      // so it exists before any worker can claim an item and record a delivery on it; a crash between the two
      // is repaired at deploy by the engine's recovery of 'queued' deliveries without an item.
      const stored = messages.insertMessage(
        { channelId: definition.id, revision, message, destinationNames: definition.destinations.map((d) => d.name), ...(reprocessOf === undefined ? {} : { reprocessOf }) },
        messageId,
        outcome,
      );
      await Promise.all([stored, items.length > 0 ? this.#o.queue.enqueue(items) : undefined]);
    } catch (error) {
      this.#o.log.error('could not store a received message', { error: errorText(error) });
      return { status: 'error', error: 'could not store the message' };
    }
    receivedTotal.inc({ channel: definition.id });
    for (const item of items) this.#o.wake(item.destination);
    if (outcome.state === 'filtered') return { status: 'filtered', messageId };
    if (outcome.state === 'error') return this.#failed(messageId, outcome.error);
    return { status: 'accepted', messageId };
  }

  #failed(messageId: string, reason: string): ReceiveOutcome {
    processingErrorsTotal.inc({ channel: this.#o.definition.id });
    // A script's error text may quote the message (patient data), so the reason goes to debug only.
    this.#o.log.warn('message processing failed', { messageId });
    this.#o.log.debug('message processing failed', { messageId }, { error: reason });
    return { status: 'error', messageId, error: reason };
  }

  /** Parse, index, filter and map in memory; nothing here waits for the store. */
  #evaluate(message: InboundMessage): ProcessingOutcome {
    if (message.refusal !== undefined) return this.#refused(message, message.refusal);
    let index: MessageIndex = {};
    try {
      const dataType = this.#o.registry.dataType(message.dataType);
      if (!dataType) throw new ProcessingError('parse', `unknown data type '${message.dataType}'`);
      const document = message.document ?? step('parse', () => dataType.parse(message.raw));
      index = step('index', () => dataType.index(document));
      const { definition } = this.#o;
      if (definition.filter && !step('filter', () => evaluateFilter(definition.filter!, document))) return { state: 'filtered', index };
      const mapped = this.#map ? step('map', () => this.#map!.apply(document, dataType)) : document;
      const mappedText = mapped.toString();
      const deliveries = this.#destinations.map((d) => this.#destinationDelivery(d, mappedText, dataType));
      return { state: 'processed', index, mapped: mappedText, deliveries };
    } catch (error) {
      const reason = error instanceof ProcessingError ? error.message : `internal error: ${errorText(error)}`;
      return { state: 'error', index, error: reason };
    }
  }

  /** A message its source refused: errored with the source's reason, indexed when the source parsed it. */
  #refused(message: InboundMessage, reason: string): ProcessingOutcome {
    let index: MessageIndex = {};
    try {
      const dataType = this.#o.registry.dataType(message.dataType);
      if (dataType && message.document) index = dataType.index(message.document);
    } catch {
      // The index only helps an analyst find the message; the refusal stands without it.
    }
    return { state: 'error', index, error: reason };
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

  #queueItems(messageId: string, dataType: string, deliveries: DeliveryUpdate[]): NewQueueItem[] {
    const items: NewQueueItem[] = [];
    deliveries.forEach((delivery, destinationIndex) => {
      if (delivery.state !== 'queued' || delivery.content === undefined) return;
      const destination = this.#destinations[destinationIndex]!.definition.name;
      items.push({ channelId: this.#o.definition.id, destination, destinationIndex, messageId, content: delivery.content, dataType });
    });
    return items;
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
