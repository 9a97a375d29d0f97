// The hub processes of a cluster, as they see themselves: each writes its sample (runtime/process-monitor.ts)
// and the leases it holds into the store every few seconds, so any process (the one a scrape or the dashboard
// happens to reach) can show all of them. A process that stopped cleanly removes its row; one that died stops
// being listed once its row is older than three heartbeats.
import type { ProcessMonitor, ProcessSample } from '../runtime/process-monitor.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { HubCollection, HubDb } from '../store/db.ts';

export interface ProcessRecord extends ProcessSample {
  /** The owner name: one row per process. */
  _id: string;
  seenAt: Date;
  /** Names of the leases it holds: singleton sources, the event publisher, destination queues. */
  leases: string[];
}

export interface ProcessTableOptions {
  readonly monitor: ProcessMonitor;
  /** The leases this process holds now. */
  readonly heldLeases: () => Promise<string[]>;
  readonly log: Logger;
  readonly everyMs?: number;
}

export class ProcessTable {
  readonly #rows: HubCollection<ProcessRecord>;
  readonly #o: ProcessTableOptions;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | undefined;
  #latest: ProcessRecord[] = [];
  #self: ProcessRecord | undefined;

  constructor(db: HubDb, options: ProcessTableOptions) {
    this.#rows = db.collection<ProcessRecord>('hub_processes');
    this.#o = options;
    this.#everyMs = options.everyMs ?? 5_000;
  }

  async start(): Promise<void> {
    this.#o.monitor.start();
    await this.#beat();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#o.monitor.stop();
    await this.#rows.deleteOne({ _id: this.#o.monitor.identity.owner }).catch(() => undefined);
  }

  /** This process as of its last heartbeat. */
  get self(): ProcessRecord | undefined {
    return this.#self;
  }

  /** Every live process as of this process's last heartbeat (for /metrics, read synchronously at scrape time). */
  get latest(): ProcessRecord[] {
    return this.#latest;
  }

  /** Every live process now. */
  async list(): Promise<ProcessRecord[]> {
    const since = new Date(Date.now() - 3 * this.#everyMs);
    const rows = await this.#rows.find({ seenAt: { $gte: since } }).toArray();
    return rows.sort((a, b) => (a.worker ?? 0) - (b.worker ?? 0) || a.pid - b.pid);
  }

  async #beat(): Promise<void> {
    try {
      const record: ProcessRecord = {
        ...this.#o.monitor.sample(),
        _id: this.#o.monitor.identity.owner,
        seenAt: new Date(),
        leases: await this.#o.heldLeases(),
      };
      await this.#rows.replaceOne({ _id: record._id }, record, { upsert: true });
      this.#self = record;
      this.#latest = await this.list();
    } catch (error) {
      this.#o.log.warn('process heartbeat failed', { error: errorText(error) });
    } finally {
      this.#timer = setTimeout(() => void this.#beat(), this.#everyMs);
      this.#timer.unref();
    }
  }
}
