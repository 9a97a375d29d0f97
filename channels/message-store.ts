// Every message a channel receives, with its raw content, its mapped form and its state per destination
// (Mirth's message browser). The raw content is inserted before anything else happens to it, so what a peer
// was told was received can always be found and reprocessed.
import { ObjectId } from 'bson';
import type { Filter, HubCollection, HubDb } from '../store/db.ts';
import type { InboundMessage, MessageIndex } from './connector.ts';

export type DeliveryState = 'received' | 'filtered' | 'queued' | 'sent' | 'error';

/** received: stored, not yet processed; processed: went through filter and map; error: processing failed. */
export type MessageState = 'received' | 'filtered' | 'processed' | 'error';

export interface DeliveryRecord {
  name: string;
  state: DeliveryState;
  attempts: number;
  /** The destination's mapped content, kept for resend. */
  content?: string;
  lastError?: string;
  /** What the peer answered, e.g. the ACK. */
  response?: string;
  /** Set when the queue gave up on it because its attempts did not end (queue-worker.ts): not retried by itself. */
  parked?: boolean;
  updatedAt: Date;
}

export interface MessageDoc extends MessageIndex {
  _id: string;
  channelId: string;
  revision: number;
  receivedAt: Date;
  dataType: string;
  raw: string;
  source: Record<string, string>;
  state: MessageState;
  mapped?: string;
  error?: string;
  destinations: DeliveryRecord[];
  /** Set on a message created by reprocessing: the id of the original. */
  reprocessOf?: string;
}

export interface MessageQuery extends MessageIndex {
  channelId?: string;
  /** A message matches when it is in this state or one of its destinations is. */
  state?: MessageState | DeliveryState;
  destination?: string;
  receivedFrom?: Date;
  receivedTo?: Date;
  skip?: number;
  /** Default 50, at most 500. */
  limit?: number;
}

export type MessageSummary = Omit<MessageDoc, 'raw' | 'mapped' | 'destinations'> & {
  destinations: Array<Omit<DeliveryRecord, 'content'>>;
};

export interface MessageStates {
  channelId: string;
  receivedAt: Date;
  state: MessageState;
  destinations: Array<{ state: DeliveryState }>;
}

export interface NewMessage {
  channelId: string;
  revision: number;
  message: InboundMessage;
  destinationNames: string[];
  reprocessOf?: string;
}

/** What the pipeline made of a message before it is stored. */
export type ProcessingOutcome =
  | { state: 'filtered'; index: MessageIndex }
  | { state: 'processed'; index: MessageIndex; mapped: string; deliveries: DeliveryUpdate[] }
  | { state: 'error'; index: MessageIndex; error: string };

function deliveryRecord(name: string, outcome: ProcessingOutcome, index: number, now: Date): DeliveryRecord {
  if (outcome.state === 'filtered') return { name, state: 'filtered', attempts: 0, updatedAt: now };
  if (outcome.state === 'error') return { name, state: 'received', attempts: 0, updatedAt: now };
  const delivery = outcome.deliveries[index];
  const record: DeliveryRecord = {
    name,
    state: delivery?.state ?? 'received',
    attempts: delivery?.attempts ?? 0,
    updatedAt: now,
  };
  if (delivery?.content !== undefined) record.content = delivery.content;
  if (delivery?.lastError !== undefined && delivery.lastError !== null) record.lastError = delivery.lastError;
  return record;
}

export interface DeliveryUpdate {
  state: DeliveryState;
  attempts?: number;
  lastError?: string | null;
  response?: string | null;
  content?: string;
  parked?: boolean;
}

const indexFields = ['messageType', 'controlId', 'patientId', 'accession', 'orderNumber', 'sendingFacility'] as const;

export class MessageStore {
  readonly #messages: HubCollection<MessageDoc>;

  constructor(db: HubDb) {
    this.#messages = db.collection<MessageDoc>('messages');
  }

  async open(): Promise<void> {
    await this.#messages.createIndex({ channelId: 1, receivedAt: -1 });
    await this.#messages.createIndex({ receivedAt: -1 });
    await this.#messages.createIndex({ state: 1, receivedAt: -1 });
    // The console counts a channel's errors on every poll (errorCount): an index read, not the channel's messages.
    await this.#messages.createIndex({ channelId: 1, state: 1 });
    // ...and its failed deliveries: without it the count read either every failed delivery of every channel or
    // every message of this one, and decoded each (~190 ms a poll with 27,000 relay messages beside 20,000 failed
    // deliveries elsewhere; 0.9 ms with it).
    await this.#messages.createIndex({ channelId: 1, 'destinations.state': 1 });
    await this.#messages.createIndex({ 'destinations.state': 1, receivedAt: -1 });
    for (const field of indexFields) await this.#messages.createIndex({ [field]: 1 });
  }

  /** A new message id: time-ordered, kept as a string so both engines and every API see the same value. */
  newId(): string {
    return new ObjectId().toHexString();
  }

  /**
   * Stores a received message with the outcome of its processing, in one write: the raw content, the index
   * fields, the mapped content and every destination's first state. Resolves once it is durable.
   */
  async insertMessage(input: NewMessage, id: string, outcome: ProcessingOutcome): Promise<void> {
    const now = new Date();
    const doc: MessageDoc = {
      _id: id,
      channelId: input.channelId,
      revision: input.revision,
      receivedAt: now,
      dataType: input.message.dataType,
      raw: input.message.raw,
      source: { ...input.message.source },
      state: outcome.state,
      destinations: input.destinationNames.map((name, i) => deliveryRecord(name, outcome, i, now)),
      ...cleanIndex({ ...outcome.index, ...input.message.index }),
    };
    if (outcome.state === 'processed') doc.mapped = outcome.mapped;
    if (outcome.state === 'error') doc.error = outcome.error;
    if (input.reprocessOf !== undefined) doc.reprocessOf = input.reprocessOf;
    await this.#messages.insertOne(doc);
  }

  async updateDelivery(id: string, destinationIndex: number, update: DeliveryUpdate): Promise<void> {
    await this.#messages.updateOne({ _id: id }, { $set: deliverySet(destinationIndex, update) });
  }

  /**
   * Records several deliveries' states. The updates are issued together, so the embedded engine commits them in
   * one transaction with one fsync (group commit) instead of one round each.
   */
  async updateDeliveries(
    updates: ReadonlyArray<{ id: string; destinationIndex: number; update: DeliveryUpdate }>,
  ): Promise<void> {
    await Promise.all(
      updates.map(({ id, destinationIndex, update }) => this.updateDelivery(id, destinationIndex, update)),
    );
  }

  async get(id: string): Promise<MessageDoc | null> {
    return this.#messages.findOne({ _id: id });
  }

  async search(query: MessageQuery): Promise<{ total: number; items: MessageSummary[] }> {
    const filter = searchFilter(query);
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const [total, docs] = await Promise.all([
      this.#messages.countDocuments(filter),
      this.#messages
        .find(filter)
        .sort({ receivedAt: -1, _id: -1 })
        .skip(query.skip ?? 0)
        .limit(limit)
        .toArray(),
    ]);
    return { total, items: docs.map(summary) };
  }

  /** Summaries of the messages a filter finds, newest first (message-search.ts pages with it). */
  async summaries(filter: Filter<MessageDoc>, limit: number): Promise<MessageSummary[]> {
    const docs = await this.#messages.find(filter).sort({ receivedAt: -1, _id: -1 }).limit(limit).toArray();
    return docs.map(summary);
  }

  /**
   * Summaries of the messages of one type about any of these orders (exam numbers), newest first: one query on
   * the orderNumber index for a whole page of a work list instead of one per exam.
   */
  async summariesOfOrders(messageType: string, orderNumbers: readonly string[]): Promise<MessageSummary[]> {
    if (orderNumbers.length === 0) return [];
    const docs = await this.#messages
      .find({ orderNumber: { $in: [...orderNumbers] }, messageType }, { projection: { raw: 0, mapped: 0 } })
      .sort({ receivedAt: -1, _id: -1 })
      .toArray();
    return docs.map(summary);
  }

  /** Channel, time and states of the messages received since `from`: what the dashboard counts. */
  async statesSince(from: Date): Promise<MessageStates[]> {
    return this.#messages
      .find({ receivedAt: { $gte: from } })
      .project<MessageStates>({ _id: 0, channelId: 1, receivedAt: 1, state: 1, 'destinations.state': 1 })
      .toArray();
  }

  /** Whole messages by id, for an export. */
  async many(ids: readonly string[]): Promise<MessageDoc[]> {
    return this.#messages
      .find({ _id: { $in: [...ids] } })
      .sort({ receivedAt: -1, _id: -1 })
      .toArray();
  }

  /** Processed messages with a delivery still marked queued (crash recovery), oldest first. */
  async withQueuedDeliveries(channelId: string, receivedBefore: Date): Promise<MessageDoc[]> {
    return this.#messages
      .find({ channelId, state: 'processed', 'destinations.state': 'queued', receivedAt: { $lt: receivedBefore } })
      .sort({ receivedAt: 1 })
      .toArray();
  }

  /** The `source` records of a channel's messages whose source has every given value (a file drop's claim). */
  async sources(channelId: string, match: Record<string, string>): Promise<Array<Record<string, string>>> {
    const filter: Record<string, unknown> = { channelId };
    for (const [key, value] of Object.entries(match)) filter[`source.${key}`] = value;
    const docs = await this.#messages.find(filter as Filter<MessageDoc>, { projection: { source: 1 } }).toArray();
    return docs.map((doc) => doc.source);
  }

  async count(filter: Filter<MessageDoc>): Promise<number> {
    return this.#messages.countDocuments(filter);
  }

  /**
   * A channel's messages in error, their own or a destination's. One filter with `$or` reads (and decodes) every
   * message of the channel on the embedded store; as two counts, the first is answered from the { channelId, state }
   * index and the second from the { channelId, destinations.state } index: only this channel's failed deliveries.
   */
  async errorCount(channelId: string): Promise<number> {
    const [own, delivery] = await Promise.all([
      this.#messages.countDocuments({ channelId, state: 'error' }),
      this.#messages.countDocuments({ 'destinations.state': 'error', channelId, state: { $ne: 'error' } }),
    ]);
    return own + delivery;
  }

  /** Deletes a channel's messages received before `cutoff`, whatever their state. */
  async deleteReceivedBefore(channelId: string, cutoff: Date): Promise<number> {
    const result = await this.#messages.deleteMany({ channelId, receivedAt: { $lt: cutoff } });
    return result.deletedCount;
  }
}

function deliverySet(index: number, update: DeliveryUpdate): Record<string, unknown> {
  const prefix = `destinations.${index}`;
  const set: Record<string, unknown> = { [`${prefix}.state`]: update.state, [`${prefix}.updatedAt`]: new Date() };
  if (update.attempts !== undefined) set[`${prefix}.attempts`] = update.attempts;
  if (update.content !== undefined) set[`${prefix}.content`] = update.content;
  if (update.lastError !== undefined) set[`${prefix}.lastError`] = update.lastError;
  if (update.response !== undefined) set[`${prefix}.response`] = update.response;
  if (update.parked !== undefined) set[`${prefix}.parked`] = update.parked;
  return set;
}

function cleanIndex(index: MessageIndex | undefined): MessageIndex {
  const clean: MessageIndex = {};
  for (const field of indexFields) {
    const value = index?.[field];
    if (typeof value === 'string' && value !== '') clean[field] = value;
  }
  return clean;
}

export function searchFilter(query: MessageQuery): Filter<MessageDoc> {
  const filter: Record<string, unknown> = {};
  if (query.channelId !== undefined) filter['channelId'] = query.channelId;
  for (const field of indexFields) if (query[field] !== undefined) filter[field] = query[field];
  if (query.destination !== undefined && query.state !== undefined) {
    // Both must hold for the same destination, not one each.
    filter['destinations'] = { $elemMatch: { name: query.destination, state: query.state } };
  } else if (query.destination !== undefined) {
    filter['destinations.name'] = query.destination;
  } else if (query.state !== undefined) {
    filter['$or'] = [{ state: query.state }, { 'destinations.state': query.state }];
  }
  if (query.receivedFrom !== undefined || query.receivedTo !== undefined) {
    const range: Record<string, Date> = {};
    if (query.receivedFrom !== undefined) range['$gte'] = query.receivedFrom;
    if (query.receivedTo !== undefined) range['$lt'] = query.receivedTo;
    filter['receivedAt'] = range;
  }
  return filter as Filter<MessageDoc>;
}

function summary(doc: MessageDoc): MessageSummary {
  const { raw: _raw, mapped: _mapped, destinations, ...rest } = doc;
  return { ...rest, destinations: destinations.map(({ content: _content, ...d }) => d) };
}
