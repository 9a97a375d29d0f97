// One change to one document, in one atomic write: the new field values, a history entry, the events (the
// outbox, see outbox.ts) and the version bump. The write only lands if the stored version is still the one the
// change was computed from (optimistic concurrency), so two processes changing one exam cannot lose an update.
import type { Document, HubCollection } from '../store/db.ts';
import type { ChangeSource, FieldChange, HistoryEntry } from './change.ts';
import type { ExamEventType, PendingEvent } from './outbox.ts';

export interface VersionedDoc extends Document {
  _id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
  outbox: PendingEvent[];
}

/** The keys a type names, without the index signature stored documents carry (Omit over one keeps only that). */
export type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

export interface Change<T> {
  set: Partial<T>;
  unset?: ReadonlyArray<keyof T & string>;
  event: ExamEventType;
  by: ChangeSource;
  changes?: Record<string, FieldChange>;
  reason?: string;
  /** Builds the events from the version the change produces (their ids depend on it). */
  events: (version: number, at: string) => PendingEvent[];
}

/** The changed document, or undefined when another writer got there first (the caller reloads and decides). */
export async function writeChange<T extends VersionedDoc>(
  collection: HubCollection<T>,
  current: T,
  change: Change<T>,
): Promise<T | undefined> {
  const at = new Date().toISOString();
  const version = current.version + 1;
  const entry: HistoryEntry = { at, version, event: change.event, by: change.by };
  if (change.changes) entry.changes = change.changes;
  if (change.reason !== undefined) entry.reason = change.reason;
  const events = change.events(version, at);
  const set = { ...change.set, version, updatedAt: at };
  const update: Document = { $set: set, $push: { history: entry, outbox: { $each: events } } };
  if (change.unset && change.unset.length > 0)
    update['$unset'] = Object.fromEntries(change.unset.map((key) => [key, '']));
  const result = await collection.updateOne({ _id: current._id, version: current.version } as never, update as never);
  if (result.matchedCount === 0) return undefined;
  const next = {
    ...current,
    ...set,
    history: [...current.history, entry],
    outbox: [...current.outbox, ...events],
  } as T;
  for (const key of change.unset ?? []) delete next[key];
  return next;
}
