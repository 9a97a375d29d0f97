// The work lists of the RSO process: what a facility is waiting for, what it has got back, what a technician
// still has to do, and the exception list (exams reopened after completion or cancellation, which a
// technician must look at, and open exams the hub put there with a reason, Exam.exception). Most urgent first,
// then oldest first, the order people work them in.
// A study's instance and series counts come from the study index (dicom/study-index.ts), the one place that
// counts them as instances arrive: the exam's copy is only what it was told at attach and at completion.
import type { HubDb } from '../store/db.ts';
import type { Exam } from './exam.ts';
import type { FacilityRegistry } from './facility.ts';
import { closedStatuses, type ExamStatus } from './lifecycle.ts';
import type { ReportState } from './report.ts';
import type { NamedKeys } from './versioned.ts';

export interface ListOptions {
  skip?: number;
  limit?: number;
}

export type ExamSummary = Pick<Exam, Exclude<NamedKeys<Exam>, 'history' | 'outbox'>> & {
  /** The state of the exam's current report (the latest not withdrawn), when it has one. */
  reportState?: ReportState;
};

/** Exams whose report went back to the facility: on its completed list, no longer on its active one. */
const reportedBack: readonly ExamStatus[] = ['final', 'amended', 'completed'];
const withdrawn: readonly ReportState[] = ['cancelled', 'entered-in-error'];

/** Live counts per Study Instance UID; dicom/study-index.ts implements it (exams/ imports no protocol). */
export interface StudyCounts {
  countsOf(studyInstanceUids: readonly string[]): Promise<Map<string, { instanceCount: number; seriesCount: number }>>;
}

const workOrder = { priorityRank: 1, createdAt: 1, _id: 1 } as const;

export class ExamLists {
  readonly #db: HubDb;
  readonly #facilities: FacilityRegistry | undefined;
  #counts: StudyCounts | undefined;

  constructor(db: HubDb, facilities?: FacilityRegistry) {
    this.#db = db;
    this.#facilities = facilities;
  }

  /** Wired by the composition root once the study index exists (hub.ts). */
  countStudiesWith(counts: StudyCounts): void {
    this.#counts = counts;
  }

  /** Exams a facility still waits for (reactivated ones included): not closed, and no final report back. */
  facilityActive(facility: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    return this.#list({ facility, status: { $nin: [...closedStatuses, ...reportedBack] } }, workOrder, options);
  }

  /** Exams of a facility whose report came back (final, amended) or that are completed, latest first. */
  facilityCompleted(facility: string, options: ListOptions = {}): Promise<ExamSummary[]> {
    return this.#list({ facility, status: { $in: [...reportedBack] } }, { updatedAt: -1, _id: 1 }, options);
  }

  /**
   * A radiologist's reading list: exams with a complete study and no final report yet, at the facilities the
   * radiologist reads for (whose radiologists name them), most urgent first.
   */
  async readingList(radiologistId: string, options: ListOptions & { facilities?: readonly string[] } = {}) {
    const all = (await this.#facilities?.list()) ?? [];
    const codes = all
      .filter((f) => f.active && f.radiologists.some((r) => r.id === radiologistId))
      .map((f) => f.code)
      .filter((code) => options.facilities === undefined || options.facilities.includes(code));
    if (codes.length === 0) return [];
    const filter = {
      facility: { $in: codes },
      status: { $nin: [...closedStatuses, ...reportedBack] },
      'studies.completedAt': { $exists: true },
    };
    return this.#list(filter, workOrder, options);
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
    const summaries = exams.map(withReportState);
    return this.#counts === undefined ? summaries : withStudyCounts(summaries, this.#counts);
  }
}

/** The exam with the state of its current report: the latest ref not withdrawn, else the latest. */
function withReportState(exam: ExamSummary): ExamSummary {
  const refs = [...exam.reports].sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
  const current = refs.filter((ref) => !withdrawn.includes(ref.status)).at(-1) ?? refs.at(-1);
  return current === undefined ? exam : { ...exam, reportState: current.status };
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
