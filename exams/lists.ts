// The work lists of the RSO process: what a facility is waiting for, what it has got back, what a technician
// still has to do, and the exception list (exams reopened after completion or cancellation, which a
// technician must look at, and open exams the hub put there with a reason, Exam.exception). Most urgent first,
// then oldest first, the order people work them in.
import type { HubDb } from '../store/db.ts';
import type { Exam } from './exam.ts';
import { closedStatuses } from './lifecycle.ts';

export interface ListOptions {
  skip?: number;
  limit?: number;
}

export type ExamSummary = Omit<Exam, 'history' | 'outbox'>;

const workOrder = { priorityRank: 1, createdAt: 1, _id: 1 } as const;

export class ExamLists {
  readonly #db: HubDb;

  constructor(db: HubDb) {
    this.#db = db;
  }

  /** Uncompleted exams of a facility (reactivated ones included). */
  facilityActive(facility: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    return this.#list({ facility, status: { $nin: [...closedStatuses] } }, workOrder, options);
  }

  /** Completed exams of a facility, most recently finished first. */
  facilityCompleted(facility: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    return this.#list({ facility, status: 'completed' }, { updatedAt: -1, _id: 1 }, options);
  }

  /** Open exams assigned to a technician. */
  technicianActive(technicianId: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    return this.#list({ technicianId, status: { $nin: [...closedStatuses] } }, workOrder, options);
  }

  /** Reactivated exams and open exams with an exception reason, for one facility or all. */
  exceptions(facility?: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    const flagged = { exception: { $exists: true }, status: { $nin: [...closedStatuses] } };
    const filter: Record<string, unknown> = { $or: [{ status: 'reactivated' }, flagged] };
    if (facility !== undefined) filter['facility'] = facility;
    return this.#list(filter, workOrder, options);
  }

  async #list(filter: Record<string, unknown>, sort: Record<string, 1 | -1>, options: ListOptions): Promise<ExamSummary[]> {
    return this.#db
      .collection<Exam>('exams')
      .find(filter, { projection: { history: 0, outbox: 0 } })
      .sort(sort)
      .skip(options.skip ?? 0)
      .limit(options.limit ?? 100)
      .toArray();
  }
}
