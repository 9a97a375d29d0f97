// The protocol-free pieces the engine ships with. hub.ts calls this once; protocol folders have their own.
import { fileDestination } from './file-destination.ts';
import { jsonDataType } from './json-data-type.ts';
import { rawDataType } from './raw-data-type.ts';
import type { ChannelRegistry } from './registry.ts';

export function registerBuiltinConnectors(registry: ChannelRegistry): void {
  registry.addDataType(rawDataType);
  registry.addDataType(jsonDataType);
  registry.addDestination(fileDestination);
}
