// The durable event outbox of the exam domain.
//
// Why events live inside the changed document first: the embedded store has no multi-document transactions,
// but every engine updates ONE document atomically. So a command writes its change, its history entry and its
// event(s) (`outbox: [...]`) in a single updateOne/insertOne; either all of it is stored or none of it is.
// Writing the event to a separate collection first (or after) would need two writes, and a crash between
// them would lose the event or publish one for a change that never happened.
//
// The publisher then moves pending events to the `exam_events` collection, idempotently: the event's _id is
// fixed when the change is made (`exam:<number>:<version>:<n>`), so a publisher that crashes after the insert
// and before removing the event from the document re-inserts, gets a duplicate key, and only removes it then.
// The publisher finds documents with pending events through an index on `outbox.id` (multikey: a document
// with an empty outbox has no string key in it), and moves a whole batch with three writes (sequence numbers,
// insertMany, then emptying the outboxes), because every write of the embedded store is a synced SQLite commit.
// Published events get a global sequence number (`seq`). Subscribers read `seq > cursor` and acknowledge, so
// delivery is at-least-once: an unacknowledged event is read again after a restart.
//
// Ordering: seq must be assigned in insertion order, or a subscriber could acknowledge 6 before 5 becomes
// visible and skip 5 for ever. So only one publisher runs at a time across processes, under a lease taken
// with an atomic findOneAndUpdate (same scheme as queue claims). Events of one exam are published in the
// order of its versions.
import { randomUUID } from 'node:crypto';
import { Leases, type Lease } from '../store/lease.ts';
import { isDuplicateKeyError, type HubCollection, type HubDb } from '../store/db.ts';
import type { ChangeSource, FieldValue } from './change.ts';
import { errorText, type Logger } from '../runtime/log.ts';

export const examEventTypes = [
  'exam.created',
  'exam.updated',
  'exam.status-changed',
  'exam.cancelled',
  'exam.reactivated',
  'exam.study-attached',
  'exam.report-attached',
  'exam.patient-changed',
  /** All instances of a DICOM study arrived (no new instance for the quiet time): data { studyInstanceUid, instanceCount }. */
  'exam.study-complete',
  /** A technician was assigned the exam (dispatch): data { technicianId }. Notifies that technician alone. */
  'exam.technician-assigned',
  /** The responsible technician acknowledged the exam: data { technicianId }. Stops escalation. */
  'exam.acknowledged',
  /**
   * Not acknowledged in time: data { technicianId (the next one, now responsible), previousTechnicianId, round }.
   * Both are notified.
   */
  'exam.escalated',
  /** A report was created or its draft content changed: data { reportId, state }. Nothing leaves the hub. */
  'report.saved',
  /**
   * A report became preliminary, final, amended, cancelled or entered-in-error: data { reportId, state, from }.
   * The report channel delivers on it (ORU^R01, DiagnosticReport, fax, e-mail); an amendment goes out again.
   */
  'report.issued',
  'patient.created',
  'patient.updated',
  'patient.merged',
] as const;
export type ExamEventType = (typeof examEventTypes)[number];

/** An event as it waits inside the document that changed. */
export interface PendingEvent {
  id: string;
  type: ExamEventType;
  at: string;
  by: ChangeSource;
  /** The exam it is about (exam events), or undefined (patient events). */
  examNumber?: string;
  patientId?: string;
  facility?: string;
  /** The document version the change produced. */
  version: number;
  /** What changed: e.g. `{ from: 'requested', to: 'images-received' }`; never names or birth dates. */
  data: Record<string, FieldValue>;
}

/** An event after publication: what subscribers read. */
export interface ExamEvent extends PendingEvent {
  seq: number;
  publishedAt: string;
}

interface EventDoc extends ExamEvent {
  _id: string;
}

interface CursorDoc {
  _id: string;
  seq: number;
  updatedAt: string;
}

interface SourceDoc {
  _id: string;
  outbox: PendingEvent[];
  /** Bumped by every write that appends events (versioned.ts); absent on documents of other writers. */
  version?: number;
}

export interface OutboxOptions {
  log: Logger;
  /** Collections whose documents carry `outbox` arrays. */
  sources?: readonly string[];
  /** How often the publisher looks for events left behind (by a crash or another process). */
  pollMs?: number;
  /**
   * How long after a write the publisher runs (default 10 ms): under load one run then moves many events with
   * its three commits instead of three commits per event.
   */
  kickDelayMs?: number;
  leaseMs?: number;
  /** This process's name in the publisher lease (default a random id). */
  owner?: string;
  /**
   * Says whether a lease holder is a process that has exited (the hub passes channels/lease-owner.ts's check
   * for its own installation): its lease is taken at once instead of after `leaseMs`, so a hub restarted after
   * a crash publishes at once. Only a dead holder is displaced, so one publisher at a time still holds.
   */
  isAbandonedOwner?: (owner: string) => boolean;
}

export const eventsCollection = 'exam_events';
const leaseId = 'outbox-publisher';
const seqId = 'outbox-seq';

export class Outbox {
  readonly #db: HubDb;
  readonly #log: Logger;
  readonly #sources: readonly string[];
  readonly #pollMs: number;
  readonly #kickDelayMs: number;
  /** Renewed at half time, so a busy publisher writes it rarely. */
  readonly #lease: Lease;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  #running: Promise<number> | undefined;
  #again = false;
  #stopped = true;

  constructor(db: HubDb, options: OutboxOptions) {
    this.#db = db;
    this.#log = options.log;
    this.#sources = options.sources ?? ['exams', 'patients'];
    this.#pollMs = options.pollMs ?? 1_000;
    this.#kickDelayMs = options.kickDelayMs ?? 10;
    const leases = new Leases(db, {
      owner: options.owner ?? randomUUID(),
      ttlMs: options.leaseMs ?? 30_000,
      ...(options.isAbandonedOwner === undefined ? {} : { isAbandoned: options.isAbandonedOwner }),
    });
    this.#lease = leases.lease(leaseId);
  }

  async start(): Promise<void> {
    await this.#db.collection<EventDoc>(eventsCollection).createIndex({ seq: 1 });
    for (const source of this.#sources) await this.#db.collection(source).createIndex({ 'outbox.id': 1 });
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => 0);
    await this.#lease.release();
  }

  /** Called after a write: publish soon instead of at the next poll. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(this.#kickDelayMs);
  }

  /** Moves every pending event to the event log; returns how many. Safe to call from any process at any time. */
  async publishPending(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#publishLoop();
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  /** True while this process is the (one) publisher: it holds the lease. */
  get publishing(): boolean {
    return this.#lease.held;
  }

  subscription(name: string): Subscription {
    return new Subscription(this.#db, name);
  }

  /** Arms the timer unless it is already due sooner: re-arming on every kick would starve it under load. */
  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    const due = Date.now() + delayMs;
    if (this.#timer && this.#due <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.publishPending()
        .catch((error: unknown) => this.#log.error('outbox publish failed', { error: errorText(error) }))
        .finally(() => this.#schedule(this.#again ? this.#kickDelayMs : this.#pollMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #publishLoop(): Promise<number> {
    let total = 0;
    do {
      this.#again = false;
      if (!(await this.#lease.hold())) return total;
      for (const source of this.#sources) total += await this.#publishFrom(source);
    } while (this.#again);
    return total;
  }

  async #publishFrom(source: string): Promise<number> {
    const docs = this.#db.collection<SourceDoc>(source);
    let total = 0;
    for (;;) {
      const batch = await docs
        .find({ 'outbox.id': { $gt: '' } }, { projection: { _id: 1, outbox: 1, version: 1 } })
        .limit(200)
        .toArray();
      if (batch.length === 0) return total;
      const events = batch.flatMap((doc) => doc.outbox);
      const last = await this.#allocate(events.length);
      const publishedAt = new Date().toISOString();
      await this.#insert(
        events.map((event, i) => ({ ...event, _id: event.id, seq: last - events.length + 1 + i, publishedAt })),
      );
      await this.#empty(docs, batch, events);
      total += events.length;
      if (!(await this.#lease.hold())) return total;
    }
  }

  /**
   * Removes the published events from their documents. A document still at the version it was read at holds
   * exactly those events (every change bumps the version and appends its events in the same write; only
   * publishers remove), so a `$set: { outbox: [] }` guarded by that version empties it: a plain $set the
   * store applies directly, where `$pull` went through mingo's general update for every document (the largest
   * cost of publishing in a CPU profile of the FHIR create benchmark). A document changed meanwhile does not
   * match; for those only the published ids are pulled, and the events added since stay for the next round.
   */
  async #empty(docs: HubCollection<SourceDoc>, batch: SourceDoc[], events: PendingEvent[]): Promise<void> {
    const byVersion = new Map<number, string[]>();
    for (const doc of batch)
      if (typeof doc.version === 'number') byVersion.set(doc.version, [...(byVersion.get(doc.version) ?? []), doc._id]);
    const results = await Promise.all(
      [...byVersion].map(([version, ids]) =>
        docs.updateMany({ _id: { $in: ids }, version } as never, { $set: { outbox: [] } } as never),
      ),
    );
    const emptied = results.reduce((sum, result) => sum + result.matchedCount, 0);
    if (emptied === batch.length) return;
    const ids = events.map((e) => e.id);
    await docs.updateMany({ _id: { $in: batch.map((doc) => doc._id) } }, {
      $pull: { outbox: { id: { $in: ids } } },
    } as never);
  }

  async #insert(events: EventDoc[]): Promise<void> {
    const log = this.#db.collection<EventDoc>(eventsCollection);
    try {
      await log.insertMany(events);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // Some were published before a crash (or by a publisher whose lease ran out): insert the rest one by one.
      for (const event of events) {
        try {
          await log.insertOne(event);
        } catch (inner) {
          if (!isDuplicateKeyError(inner)) throw inner;
        }
      }
    }
  }

  /** Reserves `count` sequence numbers; returns the last one. */
  async #allocate(count: number): Promise<number> {
    const counters = this.#db.collection<{ _id: string; seq: number }>('counters');
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await counters.findOneAndUpdate(
          { _id: seqId },
          { $inc: { seq: count } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!doc) throw new Error('outbox: the store returned no sequence document');
        return doc.seq;
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }
}

/** One named consumer of the event log. Its cursor is stored, so it resumes where it acknowledged. */
export class Subscription {
  readonly #db: HubDb;
  readonly name: string;

  constructor(db: HubDb, name: string) {
    this.#db = db;
    this.name = name;
  }

  /** The next events after the acknowledged cursor, oldest first. The same events come again until acked. */
  async pull(limit = 100): Promise<ExamEvent[]> {
    const cursor = await this.cursor();
    const docs = await this.#db
      .collection<EventDoc>(eventsCollection)
      .find({ seq: { $gt: cursor } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return docs.map(({ _id, ...event }) => event);
  }

  /** Everything up to and including `seq` was handled. Acks never move the cursor back. */
  async ack(seq: number): Promise<void> {
    await this.#db
      .collection<CursorDoc>('outbox_cursors')
      .updateOne(
        { _id: this.name },
        { $max: { seq }, $set: { updatedAt: new Date().toISOString() } },
        { upsert: true },
      );
  }

  async cursor(): Promise<number> {
    const doc = await this.#db.collection<CursorDoc>('outbox_cursors').findOne({ _id: this.name });
    return doc?.seq ?? 0;
  }
}

/** Builds an event for a change; the id is fixed now so publication can be repeated safely. */
export function pendingEvent(
  aggregate: 'exam' | 'patient' | 'report',
  key: string,
  version: number,
  index: number,
  fields: Omit<PendingEvent, 'id' | 'version'>,
): PendingEvent {
  return { id: `${aggregate}:${key}:${version}:${index}`, version, ...fields };
}
