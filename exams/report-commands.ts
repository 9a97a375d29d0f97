// Reports on an exam: a preliminary, final or amended report was issued, and the exam takes its status. The
// place where report delivery (HL7 ORU, FHIR DiagnosticReport, fax, e-mail) attaches its domain side; the
// deliveries themselves are routes on the exam events this write emits.
import { checkSource, type ChangeSource } from './change.ts';
import { InvalidInputError, TransitionRefusedError } from './errors.ts';
import { checkDateTime, type Exam, type ReportRef } from './exam.ts';
import { examChange, withoutUndefined, type CommandOptions, type ExamWrites } from './exam-writes.ts';
import { refusal, type ReportStatus } from './lifecycle.ts';
import type { ExamEventType } from './outbox.ts';

export interface ReportInput {
  id: string;
  status: ReportStatus;
  author?: string;
  location?: string;
  issuedAt?: string;
}

export class ReportCommands {
  readonly #writes: ExamWrites;

  constructor(writes: ExamWrites) {
    this.#writes = writes;
  }

  async attachReport(
    examNumber: string,
    report: ReportInput,
    by: ChangeSource,
    options: CommandOptions = {},
  ): Promise<Exam> {
    const source = checkSource(by);
    if (!report.id) throw new InvalidInputError('report.id', 'the report id is required');
    if (!['preliminary', 'final', 'amended'].includes(report.status))
      throw new InvalidInputError('report.status', 'expected preliminary, final or amended');
    const issuedAt = report.issuedAt ? checkDateTime(report.issuedAt, 'report.issuedAt') : new Date().toISOString();
    return this.#writes.mutate(examNumber, options, async (exam) => {
      // Several preliminary reports may precede the final one; a changed final report is an amendment.
      const refused =
        exam.status === 'preliminary' && report.status === 'preliminary'
          ? undefined
          : refusal(exam.status, report.status);
      if (refused) throw new TransitionRefusedError(exam.examNumber, exam.status, report.status, refused);
      const ref: ReportRef = {
        ...withoutUndefined({ id: report.id, status: report.status, author: report.author, location: report.location }),
        issuedAt,
      };
      const set: Partial<Exam> = { reports: [...exam.reports, ref], status: report.status };
      const types: ExamEventType[] = ['exam.report-attached'];
      if (exam.status !== report.status) types.push('exam.status-changed');
      return examChange(
        exam,
        source,
        { set, event: 'exam.report-attached', changes: { status: { from: exam.status, to: report.status } } },
        types,
        {
          reportId: report.id,
          reportStatus: report.status,
          from: exam.status,
          to: report.status,
        },
      );
    });
  }
}
