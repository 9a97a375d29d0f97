// The console's view of every destination queue and its two actions on one queued message: retry now (the
// backoff's wait skipped) and give up (the delivery ends as an error with the analyst's reason). Both run between
// the destination worker's steps (step-gate.ts), so never during a delivery of it in this process, and both
// refuse an item leased by a delivery in flight elsewhere.
import type { ChannelEngine } from './engine.ts';
import type { QueueItem } from './queue.ts';

export interface QueueOverview {
  channelId: string;
  channelName: string;
  destination: string;
  order: 'ordered' | 'unordered';
  /** running: delivering; paused: by an analyst or onExhausted; stopped: the channel is not deployed or disabled. */
  state: 'running' | 'paused' | 'stopped';
  depth: number;
  /** When the oldest queued message was queued; null when empty. */
  oldest: Date | null;
  /** The head's attempts so far and its last error: why a destination is stuck. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
}

export type QueuedMessage = Pick<
  QueueItem,
  'messageId' | 'seq' | 'attempts' | 'nextAttemptAt' | 'enqueuedAt' | 'lastError'
> & { inFlight: boolean };

export class QueueActionError extends Error {
  readonly kind: 'missing' | 'busy';
  constructor(kind: QueueActionError['kind'], message: string) {
    super(message);
    this.name = 'QueueActionError';
    this.kind = kind;
  }
}

export async function queueOverviews(engine: ChannelEngine): Promise<QueueOverview[]> {
  const overviews: QueueOverview[] = [];
  for (const channelId of await engine.definitions.channelIds()) {
    const stored = await engine.definitions.active(channelId).catch(() => null);
    if (!stored) continue;
    const running = engine.channelStatus(channelId)?.status === 'deployed';
    for (const destination of stored.definition.destinations) {
      const [depth, [head], state, nextAttemptAt] = await Promise.all([
        engine.queue.depth(channelId, destination.name),
        engine.queue.items(channelId, destination.name, 1),
        engine.queue.destinationState(channelId, destination.name),
        engine.queue.nextDueAt(channelId, destination.name),
      ]);
      overviews.push({
        channelId,
        channelName: stored.definition.name,
        destination: destination.name,
        order: destination.queue,
        state: !running ? 'stopped' : state?.paused ? 'paused' : 'running',
        depth,
        oldest: head?.enqueuedAt ?? null,
        attempts: head?.attempts ?? 0,
        lastError: head?.lastError ?? null,
        nextAttemptAt,
      });
    }
  }
  return overviews;
}

export async function queuedMessages(
  engine: ChannelEngine,
  channelId: string,
  destination: string,
  limit: number,
): Promise<QueuedMessage[]> {
  const now = Date.now();
  const items = await engine.queue.items(channelId, destination, limit);
  return items.map(({ messageId, seq, attempts, nextAttemptAt, enqueuedAt, lastError, leaseExpiresAt }) => ({
    messageId,
    seq,
    attempts,
    nextAttemptAt,
    enqueuedAt,
    lastError,
    inFlight: leaseExpiresAt !== null && leaseExpiresAt.getTime() > now,
  }));
}

/** Runs a change between the worker's steps when this process delivers the destination, else at once. */
function betweenSteps<T>(engine: ChannelEngine, channelId: string, destination: string, change: () => Promise<T>) {
  const worker = engine.worker(channelId, destination);
  return worker ? worker.between(change) : change();
}

async function queuedItem(engine: ChannelEngine, channelId: string, destination: string, messageId: string) {
  const item = await engine.queue.itemFor(channelId, destination, messageId);
  if (!item) throw new QueueActionError('missing', `message '${messageId}' is not queued for '${destination}'`);
  return item;
}

export async function retryNow(
  engine: ChannelEngine,
  channelId: string,
  destination: string,
  messageId: string,
): Promise<void> {
  await betweenSteps(engine, channelId, destination, async () => {
    const item = await queuedItem(engine, channelId, destination, messageId);
    if (!(await engine.queue.dueNow(item._id)))
      throw new QueueActionError('busy', `message '${messageId}' is being delivered to '${destination}' right now`);
  });
}

/** Ends the delivery as an error with the reason; the message stays in the store and can be resent. */
export async function giveUp(
  engine: ChannelEngine,
  channelId: string,
  destination: string,
  messageId: string,
  reason: string,
): Promise<{ attempts: number }> {
  return betweenSteps(engine, channelId, destination, async () => {
    const item = await queuedItem(engine, channelId, destination, messageId);
    const taken = await engine.queue.takeOut(item._id);
    if (!taken)
      throw new QueueActionError('busy', `message '${messageId}' is being delivered to '${destination}' right now`);
    const error = `given up: ${reason}${taken.lastError ? ` (last error: ${taken.lastError})` : ''}`;
    await engine.messages.updateDelivery(messageId, taken.destinationIndex, {
      state: 'error',
      attempts: taken.attempts,
      lastError: error,
    });
    engine.events.emit('delivery-error', { channelId, destination, messageId, attempts: taken.attempts, error });
    return { attempts: taken.attempts };
  });
}
