// Before a message is stored and acknowledged, every destination that would get it may check it
// (DestinationConnector.check), so a message a destination cannot take is answered as refused at once, stored
// as an error and sent to no destination, instead of being accepted and failing later where only an analyst
// sees it. The checks run side by side; the first refusal in destination order is the answer.
import { errorText, type Logger } from '../runtime/log.ts';
import type { DestinationConnector, Refusal } from './connector.ts';
import type { DestinationDefinition } from './definition.ts';
import type { DeliveryUpdate } from './message-store.ts';
import type { DeliveryQueue } from './queue.ts';

export interface DestinationRefusal extends Refusal {
  destination: string;
}

export interface CheckInput {
  channelId: string;
  destinations: readonly DestinationDefinition[];
  /** The deployed connectors, in the order of `destinations`. */
  connectors: readonly DestinationConnector[];
  /** What the pipeline made of the message for each destination; only 'queued' ones are checked. */
  deliveries: readonly DeliveryUpdate[];
  dataType: string;
  queue: DeliveryQueue;
  log: Logger;
}

export async function checkDestinations(input: CheckInput): Promise<DestinationRefusal | undefined> {
  const results = await Promise.all(input.destinations.map((d, index) => checkOne(input, d, index)));
  return results.find((refusal) => refusal !== undefined);
}

async function checkOne(
  input: CheckInput,
  destination: DestinationDefinition,
  index: number,
): Promise<DestinationRefusal | undefined> {
  const connector = input.connectors[index];
  const delivery = input.deliveries[index];
  if (!connector?.check || delivery?.state !== 'queued' || delivery.content === undefined) return undefined;
  const { channelId, queue } = input;
  try {
    const refusal = await connector.check({
      channelId,
      destinationName: destination.name,
      content: delivery.content,
      dataType: input.dataType,
      queued: async (limit) => (await queue.items(channelId, destination.name, limit)).map((item) => item.content),
    });
    return refusal === undefined ? undefined : { ...refusal, destination: destination.name };
  } catch (error) {
    // A check that cannot run (the store is away) decides nothing: the destination's send still decides.
    const fields = { destination: destination.name, error: errorText(error) };
    input.log.warn('destination check failed; the message is accepted unchecked', fields);
    return undefined;
  }
}
