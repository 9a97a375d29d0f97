// A report change and what its exam shows of it. The report and the exam are two documents, and the store has
// no multi-document transaction, so the change is made in three writes: (1) the report with its event AND a
// pending marker naming the exam step (Report.pendingExam), (2) the exam (its ref to the report, its status),
// (3) the marker removed. A crash after (1) leaves the marker; repairPending() (run at start) finishes (2) and
// (3). Step (2) is keyed by the report version, so doing it twice changes the exam once.
import type { HubCollection } from '../store/db.ts';
import type { ChangeSource } from './change.ts';
import { ReportRefusedError } from './errors.ts';
import type { Exam, ReportRef } from './exam.ts';
import { examChange, withoutUndefined, type ExamWrites } from './exam-writes.ts';
import { refusal, type ExamStatus } from './lifecycle.ts';
import type { ExamEventType } from './outbox.ts';
import type { PendingExamStep, Report, ReportState } from './report.ts';
import type { Logger } from '../runtime/log.ts';

/** The exam statuses from which a report implies the assignment to its author (the radiologist read it). */
const assignable: readonly ExamStatus[] = ['requested', 'images-received', 'reactivated'];
const reportedState: Partial<Record<ReportState, ExamStatus>> = {
  preliminary: 'preliminary',
  final: 'final',
  amended: 'amended',
};

/**
 * The exam status a report moving `from` -> `to` takes the exam to (undefined: the exam keeps its status), or a
 * ReportRefusedError with the reason. A report on a cancelled exam is refused (only withdrawn); a final report
 * on an exam not yet assigned assigns it implicitly; an amendment of a completed exam leaves it completed (the
 * new report.issued reopens delivery, not the exam).
 */
export function examStatusFor(
  exam: Pick<Exam, 'examNumber' | 'status'>,
  reportId: string,
  from: ReportState | 'new',
  to: ReportState,
): ExamStatus | undefined {
  const withdrawing = to === 'cancelled' || to === 'entered-in-error';
  if (exam.status === 'cancelled' && !withdrawing)
    throw new ReportRefusedError(reportId, from, to, `exam ${exam.examNumber} is cancelled`);
  const target = reportedState[to];
  if (target === undefined || target === exam.status) return undefined;
  if (refusal(exam.status, target) === undefined) return target;
  if (assignable.includes(exam.status) && refusal('assigned', target) === undefined) return target;
  if (to === 'amended' && exam.status === 'completed') return undefined;
  // A later report of another kind on an exam already further along (a second preliminary on a final exam).
  if (exam.status === 'final' || exam.status === 'amended' || exam.status === 'completed') {
    if (to === 'final' || to === 'preliminary')
      throw new ReportRefusedError(reportId, from, to, `exam ${exam.examNumber} is already ${exam.status}`);
  }
  throw new ReportRefusedError(
    reportId,
    from,
    to,
    `exam ${exam.examNumber} is ${exam.status}: ${refusal(exam.status, target) ?? ''}`,
  );
}

export function stepOf(
  report: Pick<Report, 'state' | 'author'>,
  reportVersion: number,
  examStatus: ExamStatus | undefined,
  by: ChangeSource,
): PendingExamStep {
  return withoutUndefined({
    reportVersion,
    state: report.state,
    examStatus,
    author: report.author?.id,
    at: new Date().toISOString(),
    by,
  });
}

export class ReportExamSync {
  readonly #writes: ExamWrites;
  readonly #reports: HubCollection<Report>;
  readonly #log: Logger;

  constructor(writes: ExamWrites, reports: HubCollection<Report>, log: Logger) {
    this.#writes = writes;
    this.#reports = reports;
    this.#log = log;
  }

  /** Steps (2) and (3): the exam shows the report, then the marker goes. */
  async finish(reportId: string, examNumber: string, step: PendingExamStep): Promise<void> {
    await this.#applyToExam(reportId, examNumber, step);
    await this.#reports.updateOne(
      { _id: reportId, 'pendingExam.reportVersion': step.reportVersion } as never,
      {
        $unset: { pendingExam: '' },
      } as never,
    );
  }

  /** Finishes every exam step a crash left behind; returns how many. */
  async repairPending(): Promise<number> {
    const pending = await this.#reports
      .find({ pendingExam: { $exists: true } } as never, { projection: { _id: 1, examNumber: 1, pendingExam: 1 } })
      .toArray();
    for (const report of pending) {
      if (report.pendingExam === undefined) continue;
      await this.finish(report._id, report.examNumber, report.pendingExam);
    }
    if (pending.length > 0) this.#log.info('finished report changes a stop interrupted', { reports: pending.length });
    return pending.length;
  }

  async #applyToExam(reportId: string, examNumber: string, step: PendingExamStep): Promise<void> {
    await this.#writes.mutate(examNumber, {}, async (exam) => {
      const current = exam.reports.find((ref) => ref.id === reportId);
      if (current !== undefined && (current.reportVersion ?? 0) >= step.reportVersion) return undefined;
      const ref: ReportRef = withoutUndefined({
        id: reportId,
        status: step.state,
        reportVersion: step.reportVersion,
        issuedAt: step.at,
        author: step.author,
      });
      const reports =
        current === undefined ? [...exam.reports, ref] : exam.reports.map((r) => (r.id === reportId ? ref : r));
      const to = this.#move(exam, step);
      const set: Partial<Exam> = { reports };
      const types: ExamEventType[] = ['exam.report-attached'];
      if (to !== undefined) {
        set.status = to;
        if (exam.radiologistId === undefined && step.author !== undefined) set.radiologistId = step.author;
        types.push('exam.status-changed');
      }
      return examChange(
        exam,
        step.by,
        {
          set,
          event: 'exam.report-attached',
          ...(to === undefined ? {} : { changes: { status: { from: exam.status, to } } }),
        },
        types,
        { reportId, reportStatus: step.state, from: exam.status, to: to ?? exam.status },
      );
    });
  }

  /** The status move, checked again on the exam as it is now (it may have changed since the report's write). */
  #move(exam: Exam, step: PendingExamStep): ExamStatus | undefined {
    const to = step.examStatus as ExamStatus | undefined;
    if (to === undefined || to === exam.status) return undefined;
    if (refusal(exam.status, to) === undefined) return to;
    if (assignable.includes(exam.status) && refusal('assigned', to) === undefined) return to;
    this.#log.warn('a report change left the exam status as it was', {
      examNumber: exam.examNumber,
      from: exam.status,
      to,
    });
    return undefined;
  }
}
