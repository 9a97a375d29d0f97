// The work lists of the RSO process: what a facility is waiting for, what it has got back, what a technician
// still has to do, and the exception list (exams reopened after completion or cancellation, which a
// technician must look at, and open exams the hub put there with a reason, Exam.exception). Most urgent first,
// then oldest first, the order people work them in.
// A study's instance and series counts come from the study index (dicom/study-index.ts), the one place that
// counts them as instances arrive: the exam's copy is only what it was told at attach and at completion.
import type { HubDb } from '../store/db.ts';
import type { Exam } from './exam.ts';
import { closedStatuses } from './lifecycle.ts';

export interface ListOptions {
  skip?: number;
  limit?: number;
}

export type ExamSummary = Omit<Exam, 'history' | 'outbox'>;

/** Live counts per Study Instance UID; dicom/study-index.ts implements it (exams/ imports no protocol). */
export interface StudyCounts {
  countsOf(studyInstanceUids: readonly string[]): Promise<Map<string, { instanceCount: number; seriesCount: number }>>;
}

const workOrder = { priorityRank: 1, createdAt: 1, _id: 1 } as const;

export class ExamLists {
  readonly #db: HubDb;
  #counts: StudyCounts | undefined;

  constructor(db: HubDb) {
    this.#db = db;
  }

  /** Wired by the composition root once the study index exists (hub.ts). */
  countStudiesWith(counts: StudyCounts): void {
    this.#counts = counts;
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

  async #list(
    filter: Record<string, unknown>,
    sort: Record<string, 1 | -1>,
    options: ListOptions,
  ): Promise<ExamSummary[]> {
    const exams = await this.#db
      .collection<Exam>('exams')
      .find(filter, { projection: { history: 0, outbox: 0 } })
      .sort(sort)
      .skip(options.skip ?? 0)
      .limit(options.limit ?? 100)
      .toArray();
    return this.#counts === undefined ? exams : withStudyCounts(exams, this.#counts);
  }
}

/** The exams with each study's counts replaced by the live ones (one read for the whole page). */
export async function withStudyCounts<T extends Pick<Exam, 'studies'>>(exams: T[], counts: StudyCounts): Promise<T[]> {
  const uids = exams.flatMap((exam) => exam.studies.map((study) => study.studyInstanceUid));
  if (uids.length === 0) return exams;
  const live = await counts.countsOf(uids);
  return exams.map((exam) => ({
    ...exam,
    studies: exam.studies.map((study) => {
      const count = live.get(study.studyInstanceUid);
      if (count === undefined) return study;
      return { ...study, instanceCount: count.instanceCount, seriesCount: count.seriesCount };
    }),
  }));
}
