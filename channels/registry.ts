// Connector types and data types by name. A protocol folder adds its own in a register function that hub.ts
// calls; nothing registers on import, so a test builds exactly the registry it needs.
import type { DataType, DestinationConnectorType, SourceConnectorType } from './connector.ts';

export class ChannelRegistry {
  readonly #sources = new Map<string, SourceConnectorType<unknown>>();
  readonly #destinations = new Map<string, DestinationConnectorType<unknown>>();
  readonly #dataTypes = new Map<string, DataType>();

  addSource<S>(type: SourceConnectorType<S>): void {
    addOnce(this.#sources, type.type, type as SourceConnectorType<unknown>, 'source connector type');
  }

  addDestination<S>(type: DestinationConnectorType<S>): void {
    addOnce(this.#destinations, type.type, type as DestinationConnectorType<unknown>, 'destination connector type');
  }

  addDataType(dataType: DataType): void {
    addOnce(this.#dataTypes, dataType.name, dataType, 'data type');
  }

  source(name: string): SourceConnectorType<unknown> | undefined {
    return this.#sources.get(name);
  }

  destination(name: string): DestinationConnectorType<unknown> | undefined {
    return this.#destinations.get(name);
  }

  dataType(name: string): DataType | undefined {
    return this.#dataTypes.get(name);
  }

  sourceTypes(): string[] {
    return [...this.#sources.keys()];
  }

  destinationTypes(): string[] {
    return [...this.#destinations.keys()];
  }

  dataTypes(): string[] {
    return [...this.#dataTypes.keys()];
  }
}

function addOnce<T>(map: Map<string, T>, name: string, value: T, what: string): void {
  // Two connectors under one name would make a stored definition mean different things depending on
  // registration order; refuse at wiring time instead.
  if (map.has(name)) throw new Error(`${what} '${name}' is already registered`);
  map.set(name, value);
}
