// Every change made through the admin API is recorded: who, what, on which object, and when. The audit trail
// never holds message content or patient data, only ids.
import type { HubCollection, HubDb } from '../store/db.ts';

export interface AuditEntry {
  at: Date;
  user: string;
  action: string;
  /** e.g. `channel:orders`, `message:665f…` */
  target: string;
  detail?: Record<string, string | number | boolean>;
}

export class AuditLog {
  readonly #collection: HubCollection<AuditEntry>;

  constructor(db: HubDb) {
    this.#collection = db.collection<AuditEntry>('audit');
  }

  async open(): Promise<void> {
    await this.#collection.createIndex({ at: -1 });
    await this.#collection.createIndex({ target: 1, at: -1 });
  }

  async record(user: string, action: string, target: string, detail?: AuditEntry['detail']): Promise<void> {
    await this.#collection.insertOne({ at: new Date(), user, action, target, ...(detail ? { detail } : {}) });
  }

  async recent(limit: number, target?: string): Promise<AuditEntry[]> {
    const entries = await this.#collection
      .find(target ? { target } : {})
      .sort({ at: -1 })
      .limit(limit)
      .toArray();
    return entries.map(({ _id, ...entry }) => entry);
  }
}
