// The one write path of an exam: load it, build the change, write the change with its history entry and its
// events in one atomic write (versioned.ts, outbox.ts), and retry when another writer got there first. Every
// command part of the exam service (orders, late orders, patients, studies, reports) changes exams through
// this, so none of them has a write path of its own.
import type { HubDb } from '../store/db.ts';
import type { ChangeSource, FieldValue } from './change.ts';
import { NotFoundError, VersionConflictError } from './errors.ts';
import type { Exam } from './exam.ts';
import type { ExamStatus } from './lifecycle.ts';
import { pendingEvent, type ExamEventType, type Outbox, type PendingEvent } from './outbox.ts';
import { writeChange, type Change } from './versioned.ts';

export interface CommandOptions {
  /** The version the caller last saw (FHIR If-Match); a different stored version refuses the change. */
  expectedVersion?: number;
  reason?: string;
}

export type ExamChange = Change<Exam>;

const maxRetries = 8;

export class ExamWrites {
  readonly outbox: Outbox;
  readonly #db: HubDb;

  constructor(db: HubDb, outbox: Outbox) {
    this.#db = db;
    this.outbox = outbox;
  }

  get collection() {
    return this.#db.collection<Exam>('exams');
  }

  async get(examNumber: string): Promise<Exam | undefined> {
    return (await this.collection.findOne({ _id: examNumber })) ?? undefined;
  }

  async require(examNumber: string): Promise<Exam> {
    const exam = await this.get(examNumber);
    if (!exam) throw new NotFoundError('exam', examNumber);
    return exam;
  }

  /**
   * Loads, computes and writes a change, retrying when another writer changed the exam in between (unless the
   * caller pinned a version). `build` returns undefined when there is nothing to change.
   */
  async mutate(
    examNumber: string,
    options: CommandOptions,
    build: (exam: Exam) => Promise<ExamChange | undefined>,
  ): Promise<Exam> {
    for (let attempt = 0; attempt < maxRetries; attempt++) {
      const exam = await this.require(examNumber);
      if (options.expectedVersion !== undefined && options.expectedVersion !== exam.version) {
        throw new VersionConflictError(`exam ${examNumber}`, options.expectedVersion, exam.version);
      }
      const change = await build(exam);
      if (!change) return exam;
      const next = await writeChange(this.collection, exam, change);
      if (next) {
        this.outbox.kick();
        return next;
      }
      if (options.expectedVersion !== undefined)
        throw new VersionConflictError(`exam ${examNumber}`, options.expectedVersion, exam.version + 1);
    }
    throw new Error(`exam ${examNumber}: gave up after ${maxRetries} concurrent changes`);
  }
}

/** A change of `exam` and its events, one per type, all carrying `data`. */
export function examChange(
  exam: Exam,
  by: ChangeSource,
  change: Omit<Change<Exam>, 'events' | 'by'>,
  types: ExamEventType[],
  data: Record<string, FieldValue>,
): ExamChange {
  const patientId = (change.set.patientId as string | undefined) ?? exam.patientId;
  return {
    ...change,
    by,
    events: (version, at): PendingEvent[] =>
      types.map((type, i) =>
        pendingEvent('exam', exam.examNumber, version, i, {
          type,
          at,
          by,
          examNumber: exam.examNumber,
          patientId,
          facility: exam.facility,
          data,
        }),
      ),
  };
}

export function statusChange(
  exam: Exam,
  to: ExamStatus,
  by: ChangeSource,
  extra: Partial<Exam>,
  reason: string | undefined,
): ExamChange {
  const type: ExamEventType =
    to === 'cancelled' ? 'exam.cancelled' : to === 'reactivated' ? 'exam.reactivated' : 'exam.status-changed';
  const changes = { status: { from: exam.status, to } };
  const data: Record<string, FieldValue> = { from: exam.status, to };
  if (reason !== undefined) data['reason'] = reason;
  return examChange(
    exam,
    by,
    { set: { ...extra, status: to }, event: type, changes, ...(reason === undefined ? {} : { reason }) },
    [type],
    data,
  );
}

/** The value without its undefined keys (a stored optional field is absent, never undefined). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
