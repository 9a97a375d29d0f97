// Every change made through the admin API is recorded: who, what, on which object, when, and for configuration
// (channels, facilities, users) the object before and after, so the console can show the difference. The trail
// never holds message content or patient data, only ids. Pages are read newest first by `key` (the time plus a
// random tail), which sorts the same on both store engines and makes a cursor that a concurrent write cannot shift.
import { randomBytes } from 'node:crypto';
import type { Filter, HubCollection, HubDb } from '../store/db.ts';
import { ValidationError } from '../runtime/validate.ts';

export interface AuditEntry {
  at: Date;
  user: string;
  action: string;
  /** e.g. `channel:orders`, `message:665f…` */
  target: string;
  detail?: Record<string, string | number | boolean>;
  /** The object before the change; null when it was created. */
  before?: unknown;
  /** The object after the change; null when it was deleted. */
  after?: unknown;
}

interface AuditDoc extends AuditEntry {
  /** ISO time and 8 random hex digits: unique, in time order. */
  key: string;
}

export interface AuditQuery {
  target?: string;
  user?: string;
  /** An action (`channel.save`) or a prefix of one ending in a dot (`channel.`). */
  action?: string;
  limit: number;
  cursor?: string;
}

export interface AuditPage {
  items: Array<AuditEntry & { id: string }>;
  /** The cursor of the next (older) page; null on the last. */
  next: string | null;
}

export class AuditLog {
  readonly #collection: HubCollection<AuditDoc>;

  constructor(db: HubDb) {
    this.#collection = db.collection<AuditDoc>('audit');
  }

  async open(): Promise<void> {
    await this.#collection.createIndex({ key: -1 });
    await this.#collection.createIndex({ target: 1, key: -1 });
  }

  async record(
    user: string,
    action: string,
    target: string,
    detail?: AuditEntry['detail'],
    change?: { before: unknown; after: unknown },
  ): Promise<void> {
    const at = new Date();
    const key = `${at.toISOString()}-${randomBytes(4).toString('hex')}`;
    await this.#collection.insertOne({
      key,
      at,
      user,
      action,
      target,
      ...(detail ? { detail } : {}),
      ...(change ? { before: change.before ?? null, after: change.after ?? null } : {}),
    });
  }

  async recent(limit: number, target?: string): Promise<AuditEntry[]> {
    return (await this.page({ limit, ...(target === undefined ? {} : { target }) })).items;
  }

  async page(query: AuditQuery): Promise<AuditPage> {
    const filter: Filter<AuditDoc> = {};
    if (query.target !== undefined) filter.target = query.target;
    if (query.user !== undefined) filter.user = query.user;
    if (query.action !== undefined) {
      filter.action = query.action.endsWith('.')
        ? { $regex: `^${query.action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` }
        : query.action;
    }
    if (query.cursor !== undefined) filter.key = { $lt: decodeCursor(query.cursor) };
    const docs = await this.#collection
      .find(filter)
      .sort({ key: -1 })
      .limit(query.limit + 1)
      .toArray();
    const items = docs.slice(0, query.limit).map(({ _id, key, ...entry }) => ({ id: key, ...entry }));
    const last = docs.length > query.limit ? items.at(-1) : undefined;
    return { items, next: last ? Buffer.from(last.id).toString('base64url') : null };
  }
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{4}-\d\d-\d\dT[\d:.]+Z-[0-9a-f]{8}$/.test(key))
    throw new ValidationError('cursor', 'expected the cursor of a previous page (its `next`)');
  return key;
}
