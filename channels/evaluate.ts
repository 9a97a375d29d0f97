// A channel revision's processing of one message, in memory and without side effects: parse, index, channel
// filter, channel map, then each destination's filter and map. The pipeline (pipeline.ts) stores and enqueues
// what this returns; the console's dry run (dry-run.ts) shows it without storing or sending anything.
import { errorText } from '../runtime/log.ts';
import type { DataType, InboundMessage, MessageIndex } from './connector.ts';
import type { ChannelDefinition, DestinationDefinition } from './definition.ts';
import { evaluateFilter } from './filter.ts';
import { CompiledMap } from './map-step.ts';
import type { DeliveryUpdate, ProcessingOutcome } from './message-store.ts';
import type { ChannelRegistry } from './registry.ts';

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

export class ChannelEvaluator {
  readonly #definition: ChannelDefinition;
  readonly #registry: ChannelRegistry;
  readonly #map: CompiledMap | undefined;
  readonly #destinations: CompiledDestination[];

  constructor(definition: ChannelDefinition, registry: ChannelRegistry) {
    this.#definition = definition;
    this.#registry = registry;
    this.#map = definition.map ? new CompiledMap(definition.map) : undefined;
    this.#destinations = definition.destinations.map((d) => ({
      definition: d,
      map: d.map ? new CompiledMap(d.map) : undefined,
    }));
  }

  /** Parse, index, filter and map in memory; nothing here waits for the store. */
  evaluate(message: InboundMessage): ProcessingOutcome {
    if (message.refusal !== undefined) return this.#refusedAtSource(message, message.refusal);
    let index: MessageIndex = {};
    try {
      const dataType = this.#registry.dataType(message.dataType);
      if (!dataType) throw new ProcessingError('parse', `unknown data type '${message.dataType}'`);
      const document = message.document ?? step('parse', () => dataType.parse(message.raw));
      index = step('index', () => dataType.index(document));
      const filter = this.#definition.filter;
      if (filter && !step('filter', () => evaluateFilter(filter, document))) return { state: 'filtered', index };
      const mapped = this.#map ? step('map', () => this.#map!.apply(document, dataType)) : document;
      const mappedText = mapped.toString();
      const deliveries = this.#destinations.map((d) => destinationDelivery(d, mappedText, dataType));
      return { state: 'processed', index, mapped: mappedText, deliveries };
    } catch (error) {
      const reason = error instanceof ProcessingError ? error.message : `internal error: ${errorText(error)}`;
      return { state: 'error', index, error: reason };
    }
  }

  /** A message its source refused: errored with the source's reason, indexed when the source parsed it. */
  #refusedAtSource(message: InboundMessage, reason: string): ProcessingOutcome {
    let index: MessageIndex = {};
    try {
      const dataType = this.#registry.dataType(message.dataType);
      if (dataType && message.document) index = dataType.index(message.document);
    } catch {
      // The index only helps an analyst find the message; the refusal stands without it.
    }
    return { state: 'error', index, error: reason };
  }
}

function destinationDelivery(destination: CompiledDestination, mappedText: string, dataType: DataType): DeliveryUpdate {
  const { filter } = destination.definition;
  try {
    // Each destination gets its own copy: one destination's map must not change what another sees.
    const document = destination.map || filter ? dataType.parse(mappedText) : undefined;
    if (filter && document && !evaluateFilter(filter, document)) return { state: 'filtered' };
    const content = destination.map && document ? destination.map.apply(document, dataType).toString() : mappedText;
    return { state: 'queued', content, attempts: 0 };
  } catch (error) {
    // A destination's own filter or map failing is that destination's error; the others still get the message.
    return {
      state: 'error',
      lastError: `destination ${destination.definition.name}: ${errorText(error)}`,
      attempts: 0,
    };
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
