// Durable per-destination queues. An item lives in `queue_items` from enqueue until its delivery is settled
// (sent, or given up as error), so the collection holds only pending work. Claims are atomic
// findOneAndUpdates with a lease (owner + expiry): a process that dies mid-delivery leaves a lease that runs
// out, and any process may then claim the item, on the embedded engine and on a MongoDB replica set alike.
// An ordered destination has one lock document; only its holder touches that destination's items, which is
// what keeps the head-of-line order across processes.
import type { Filter, HubCollection, HubDb } from '../store/db.ts';
import { isDuplicateKeyError } from '../store/db.ts';

export interface QueueItem {
  _id: string;
  /** destinationKey(channelId, destination): one field to select a destination's items by (see open()). */
  queue: string;
  channelId: string;
  destination: string;
  /** The destination's position in the message's `destinations` list. */
  destinationIndex: number;
  messageId: string;
  content: string;
  dataType: string;
  seq: number;
  attempts: number;
  nextAttemptAt: Date;
  enqueuedAt: Date;
  lastError: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  /**
   * Attempts that began and did not end (the hub stopped or was killed during them) or ended past the time
   * budget without success; set only for items replayed after a restart (see QueueWorker). At 2 the item is
   * parked as errored instead of being tried again.
   */
  unfinished?: number;
  /** A resend the analyst asked for in full (OutboundMessage.resendAll). */
  resendAll?: true;
}

export interface DestinationStateDoc {
  _id: string;
  channelId: string;
  destination: string;
  paused: boolean;
  lockOwner: string | null;
  lockExpiresAt: Date | null;
}

type NewQueueItemKey =
  | 'channelId'
  | 'destination'
  | 'destinationIndex'
  | 'messageId'
  | 'content'
  | 'dataType'
  | 'resendAll';
export type NewQueueItem = Pick<QueueItem, NewQueueItemKey> & {
  /** Set by resend: the first enqueue of a delivery has a fixed id, so recovery can add it again idempotently. */
  again?: boolean;
  /** Keeps a recovered item in the place of its original message. */
  seq?: number;
};

let lastSeq = 0;

/**
 * Enqueue order. Microseconds since the epoch, bumped to stay strictly increasing within the process: ordered
 * across restarts (as long as the clock does not step back) without a shared counter write per message.
 * Messages from two processes at the same moment have no order to keep anyway.
 */
function nextSeq(): number {
  lastSeq = Math.max(Date.now() * 1000, lastSeq + 1);
  return lastSeq;
}

function ignoreDuplicate(error: unknown): void {
  if (!isDuplicateKeyError(error)) throw error;
}

export function destinationKey(channelId: string, destination: string): string {
  return `${channelId}\u0000${destination}`;
}

/** The destination keys of a channel's destinations, as a range (no key of another channel falls in it). */
function channelKeyRange(channelId: string): { $gte: string; $lt: string } {
  return { $gte: destinationKey(channelId, ''), $lt: `${channelId}\u0001` };
}

export class DeliveryQueue {
  readonly #items: HubCollection<QueueItem>;
  readonly #destinations: HubCollection<DestinationStateDoc>;

  constructor(db: HubDb) {
    this.#items = db.collection<QueueItem>('queue_items');
    this.#destinations = db.collection<DestinationStateDoc>('queue_destinations');
  }

  async open(): Promise<void> {
    // The embedded engine plans with an index's first field only, so a destination's items are selected by one
    // field that names the destination rather than by channelId + destination.
    // The only index: every item write also writes each index's row, and nothing else is asked often enough to
    // pay for that on every enqueue and every delivery (a channel's items are a range of `queue`).
    await this.#items.createIndex({ queue: 1, seq: 1 });
  }

  /**
   * Writes the items. An item that already exists (recovery and the pipeline racing for the same delivery)
   * counts as written: the fixed id makes the enqueue idempotent.
   */
  async enqueue(items: NewQueueItem[]): Promise<void> {
    if (items.length === 0) return;
    const now = new Date();
    const docs: QueueItem[] = items.map(({ again, seq: givenSeq, ...item }) => {
      const seq = givenSeq ?? nextSeq();
      return {
        ...item,
        queue: destinationKey(item.channelId, item.destination),
        _id: again ? `${item.messageId}:${item.destinationIndex}:${seq}` : `${item.messageId}:${item.destinationIndex}`,
        seq,
        attempts: 0,
        nextAttemptAt: now,
        enqueuedAt: now,
        lastError: null,
        leaseOwner: null,
        leaseExpiresAt: null,
      };
    });
    try {
      await this.#items.insertMany(docs);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // An ordered insertMany stops at the duplicate; write the rest one by one.
      for (const doc of docs) await this.#items.insertOne(doc).catch(ignoreDuplicate);
    }
  }

  /** Message ids that have at least one item queued in the channel. */
  async queuedMessageIds(channelId: string): Promise<Set<string>> {
    const ids = await this.#items.distinct('messageId', { queue: channelKeyRange(channelId) });
    return new Set(ids.filter((id): id is string => typeof id === 'string'));
  }

  /** Creates the destination's state document if it does not exist yet (paused false, no lock). */
  async ensureDestination(channelId: string, destination: string): Promise<void> {
    try {
      await this.#destinations.insertOne({
        _id: destinationKey(channelId, destination),
        channelId,
        destination,
        paused: false,
        lockOwner: null,
        lockExpiresAt: null,
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  async destinationState(channelId: string, destination: string): Promise<DestinationStateDoc | null> {
    return this.#destinations.findOne({ _id: destinationKey(channelId, destination) });
  }

  async setPaused(channelId: string, destination: string, paused: boolean): Promise<void> {
    await this.ensureDestination(channelId, destination);
    await this.#destinations.updateOne({ _id: destinationKey(channelId, destination) }, { $set: { paused } });
  }

  /** Every owner that holds a lease or a lock now (for recovering those of exited processes). */
  async leaseHolders(): Promise<unknown[]> {
    const [items, locks] = await Promise.all([
      this.#items.distinct('leaseOwner', { leaseOwner: { $ne: null } }),
      this.#destinations.distinct('lockOwner', { lockOwner: { $ne: null } }),
    ]);
    return [...new Set([...items, ...locks])];
  }

  /** The destinations (`<channel>\u0000<destination>` keys) whose queue `owner` holds the lock of, unexpired. */
  async locksHeldBy(owner: string): Promise<string[]> {
    const held = await this.#destinations
      .find({ lockOwner: owner, lockExpiresAt: { $gt: new Date() } }, { projection: { _id: 1 } })
      .toArray();
    return held.map((d) => String(d._id));
  }

  /** Frees the leases and locks of owners known to be gone. */
  async releaseOwners(owners: readonly string[]): Promise<void> {
    if (owners.length === 0) return;
    await this.#items.updateMany(
      { leaseOwner: { $in: [...owners] } },
      { $set: { leaseOwner: null, leaseExpiresAt: null } },
    );
    await this.#destinations.updateMany(
      { lockOwner: { $in: [...owners] } },
      { $set: { lockOwner: null, lockExpiresAt: null } },
    );
  }

  /** Takes or renews the destination lock; false while another owner's lease runs. */
  async acquireLock(channelId: string, destination: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = new Date();
    const taken = await this.#destinations.findOneAndUpdate(
      {
        _id: destinationKey(channelId, destination),
        $or: [{ lockOwner: null }, { lockOwner: owner }, { lockExpiresAt: { $lt: now } }],
      },
      { $set: { lockOwner: owner, lockExpiresAt: new Date(now.getTime() + leaseMs) } },
      { returnDocument: 'after' },
    );
    return taken !== null;
  }

  async releaseLock(channelId: string, destination: string, owner: string): Promise<void> {
    await this.#destinations.updateOne(
      { _id: destinationKey(channelId, destination), lockOwner: owner },
      { $set: { lockOwner: null, lockExpiresAt: null } },
    );
  }

  /**
   * The destination's first items in queue order, due or not; `afterSeq` skips those up to that position
   * (ordered delivery: only the lock holder calls this). The worker takes a batch and sends from it while it
   * keeps the lock: nobody else changes those items meanwhile.
   */
  async heads(channelId: string, destination: string, limit: number, afterSeq?: number): Promise<QueueItem[]> {
    const filter: Filter<QueueItem> = { queue: destinationKey(channelId, destination) };
    if (afterSeq !== undefined) filter.seq = { $gt: afterSeq };
    return this.#items.find(filter).sort({ seq: 1 }).limit(limit).toArray();
  }

  /** Ids of the oldest due items nobody holds (unordered delivery); claim each with claim(). */
  async dueCandidates(channelId: string, destination: string, limit: number): Promise<string[]> {
    const now = new Date();
    const items = await this.#items
      .find({
        queue: destinationKey(channelId, destination),
        nextAttemptAt: { $lte: now },
        $or: [{ leaseOwner: null }, { leaseExpiresAt: { $lt: now } }],
      })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return items.map((i) => i._id);
  }

  /** Claims one item if it is still due and free: the atomic step that keeps two processes off one item. */
  async claim(itemId: string, owner: string, leaseMs: number): Promise<QueueItem | null> {
    const now = new Date();
    return this.#items.findOneAndUpdate(
      { _id: itemId, nextAttemptAt: { $lte: now }, $or: [{ leaseOwner: null }, { leaseExpiresAt: { $lt: now } }] },
      { $set: { leaseOwner: owner, leaseExpiresAt: new Date(now.getTime() + leaseMs) } },
      { returnDocument: 'after' },
    );
  }

  /** Extends an item's lease while its delivery runs; false if the lease was lost. */
  async renewItemLease(itemId: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.#items.updateOne(
      { _id: itemId, leaseOwner: owner },
      { $set: { leaseExpiresAt: new Date(Date.now() + leaseMs) } },
    );
    return result.matchedCount === 1;
  }

  /** When the next item of a destination becomes due (for sleeping until then), or null when empty. */
  async nextDueAt(channelId: string, destination: string): Promise<Date | null> {
    const [item] = await this.#items
      .find({ queue: destinationKey(channelId, destination) })
      .sort({ nextAttemptAt: 1 })
      .limit(1)
      .toArray();
    return item?.nextAttemptAt ?? null;
  }

  async remove(itemId: string): Promise<void> {
    await this.#items.deleteOne({ _id: itemId });
  }

  async removeMany(itemIds: readonly string[]): Promise<void> {
    if (itemIds.length === 0) return;
    await this.#items.deleteMany({ _id: { $in: [...itemIds] } });
  }

  /** Gives a leased item back untouched: it was not attempted. */
  async releaseItem(itemId: string, owner: string): Promise<void> {
    await this.#items.updateOne(
      { _id: itemId, leaseOwner: owner },
      { $set: { leaseOwner: null, leaseExpiresAt: null } },
    );
  }

  /** Records a failed attempt and when to try again; releases the item's lease. */
  async reschedule(
    itemId: string,
    attempts: number,
    nextAttemptAt: Date,
    lastError: string,
    unfinished = 0,
  ): Promise<void> {
    await this.#items.updateOne(
      { _id: itemId },
      { $set: { attempts, nextAttemptAt, lastError, leaseOwner: null, leaseExpiresAt: null, unfinished } },
    );
  }

  /** Records, before the attempt, that an attempt began: if the process dies during it, the count says so. */
  async markUnfinished(itemId: string, unfinished: number): Promise<void> {
    await this.#items.updateOne({ _id: itemId }, { $set: { unfinished } });
  }

  async depth(channelId: string, destination: string): Promise<number> {
    return this.#items.countDocuments({ queue: destinationKey(channelId, destination) });
  }

  /** The item that holds a message for a destination, if it is still queued. */
  async itemFor(channelId: string, destination: string, messageId: string): Promise<QueueItem | null> {
    return this.#items.findOne({ queue: destinationKey(channelId, destination), messageId });
  }

  /** Makes an item due now, unless a delivery of it is in flight (its lease); true when it was changed. */
  async dueNow(itemId: string): Promise<boolean> {
    const now = new Date();
    const result = await this.#items.updateOne(
      { _id: itemId, $or: [{ leaseOwner: null }, { leaseExpiresAt: { $lt: now } }] },
      { $set: { nextAttemptAt: now } },
    );
    return result.matchedCount === 1;
  }

  /** Takes an item out of the queue unless a delivery of it is in flight; the item when it was taken. */
  async takeOut(itemId: string): Promise<QueueItem | null> {
    return this.#items.findOneAndDelete({
      _id: itemId,
      $or: [{ leaseOwner: null }, { leaseExpiresAt: { $lt: new Date() } }],
    });
  }

  async items(channelId: string, destination: string, limit = 100): Promise<QueueItem[]> {
    return this.#items
      .find({ queue: destinationKey(channelId, destination) })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
  }
}
