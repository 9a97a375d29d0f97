// Named leases in the store: how work that must run in one process at a time (an exam-event channel's reader, a
// drop-folder poller) is given to exactly one of several hub processes, on one machine or many. A lease is one
// document taken and renewed with an atomic findOneAndUpdate, the same scheme as the queue claims and the outbox
// publisher, so it holds on both engines. Its holder renews it at half time; a holder that dies leaves it to
// expire after `ttlMs`, unless `isAbandoned` says the holder was a process of this installation that has exited
// (channels/lease-owner.ts), which is displaced at once.
import { isDuplicateKeyError, type HubCollection, type HubDb } from './db.ts';

interface LeaseDoc {
  _id: string;
  owner: string;
  until: number;
}

export interface LeaseOptions {
  /** This process's name in its leases. */
  readonly owner: string;
  /** How long a lease stands without renewal: the takeover time after its holder died without a trace. */
  readonly ttlMs: number;
  /** True for a holder known to have exited: its lease is taken at once. */
  readonly isAbandoned?: (owner: string) => boolean;
}

export const leasesCollection = 'leases';

/** The leases of one process: hands out named leases and says which it holds (for /metrics). */
export class Leases {
  readonly #collection: HubCollection<LeaseDoc>;
  readonly #options: LeaseOptions;
  readonly #all = new Map<string, Lease>();

  constructor(db: HubDb, options: LeaseOptions) {
    this.#collection = db.collection<LeaseDoc>(leasesCollection);
    this.#options = options;
  }

  get owner(): string {
    return this.#options.owner;
  }

  get ttlMs(): number {
    return this.#options.ttlMs;
  }

  lease(name: string): Lease {
    let lease = this.#all.get(name);
    if (lease === undefined) {
      lease = new Lease(this.#collection, name, this.#options);
      this.#all.set(name, lease);
    }
    return lease;
  }

  /** Names of the leases this process holds now. */
  held(): string[] {
    return [...this.#all.values()].filter((lease) => lease.held).map((lease) => lease.name);
  }
}

export class Lease {
  readonly name: string;
  readonly #collection: HubCollection<LeaseDoc>;
  readonly #options: LeaseOptions;
  /** Until when this process surely holds it (its own clock, from before its last write). */
  #until = 0;

  constructor(collection: HubCollection<LeaseDoc>, name: string, options: LeaseOptions) {
    this.#collection = collection;
    this.name = name;
    this.#options = options;
  }

  get held(): boolean {
    return Date.now() < this.#until;
  }

  /**
   * Takes the lease if it is free, expired, abandoned or already ours, and renews it when half its time is
   * gone; true while this process holds it. Cheap to call often: a held lease costs a write only at half time.
   */
  async hold(): Promise<boolean> {
    const { owner, ttlMs } = this.#options;
    const now = Date.now();
    if (this.#until - now > ttlMs / 2) return true;
    await this.#freeAbandoned(now);
    try {
      // Matches when free, expired or ours; otherwise the upsert collides with the holder's document on _id,
      // which is how "held by another" shows.
      const doc = await this.#collection.findOneAndUpdate(
        { _id: this.name, $or: [{ until: { $lt: now } }, { owner }] },
        { $set: { owner, until: now + ttlMs } },
        { upsert: true, returnDocument: 'after' },
      );
      this.#until = doc?.owner === owner ? now + ttlMs : 0;
    } catch (error) {
      this.#until = 0;
      if (!isDuplicateKeyError(error)) throw error;
    }
    return this.#until > 0;
  }

  /** Gives the lease up at once (a clean stop), so another process need not wait for it to expire. */
  async release(): Promise<void> {
    if (this.#until === 0) return;
    this.#until = 0;
    await this.#collection.updateOne({ _id: this.name, owner: this.#options.owner }, { $set: { until: 0 } });
  }

  async #freeAbandoned(now: number): Promise<void> {
    const { isAbandoned, owner } = this.#options;
    if (isAbandoned === undefined) return;
    const current = await this.#collection.findOne({ _id: this.name });
    if (!current || current.owner === owner || current.until < now || !isAbandoned(current.owner)) return;
    await this.#collection.updateOne({ _id: this.name, owner: current.owner }, { $set: { until: 0 } });
  }
}
