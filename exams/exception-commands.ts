// The technician's answers to the exception list (lists.ts): dismiss an entry with a reason, or move the study
// of an exam the hub made for unmatched images onto the exam it belongs to. Each step is one exam write with its
// history entry and event (exam-writes.ts); moving a study is two writes (target first, then the source is
// closed), so a stop in between leaves the study on both and running it again finishes the move.
import { checkSource, type ChangeSource } from './change.ts';
import { InvalidInputError } from './errors.ts';
import type { Exam, StudyRef } from './exam.ts';
import { examChange, statusChange, type ExamWrites } from './exam-writes.ts';
import { refusal, type ExamStatus } from './lifecycle.ts';

function checkReason(reason: string): string {
  const text = reason.trim();
  if (text === '') throw new InvalidInputError('reason', 'say why (the reason is kept in the exam history)');
  if (text.length > 500) throw new InvalidInputError('reason', 'at most 500 characters');
  return text;
}

function onList(exam: Exam): boolean {
  return (
    exam.status === 'reactivated' || (exam.exception !== undefined && !['completed', 'cancelled'].includes(exam.status))
  );
}

/** Where a dismissed entry goes: a reopened exam back to done when its report is final, else cancelled. */
function dismissedStatus(exam: Exam): ExamStatus {
  if (exam.status !== 'reactivated') return 'cancelled';
  return exam.reports.some((r) => r.status === 'final' || r.status === 'amended') ? 'completed' : 'cancelled';
}

export class ExceptionCommands {
  readonly #writes: ExamWrites;

  constructor(writes: ExamWrites) {
    this.#writes = writes;
  }

  /** Takes the exam off the exception list: closed (completed or cancelled) with the reason in its history. */
  async dismiss(examNumber: string, reason: string, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    const why = checkReason(reason);
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      if (!onList(exam))
        throw new InvalidInputError('examNumber', `exam ${exam.examNumber} is not on the exception list`);
      const to = dismissedStatus(exam);
      const refused = refusal(exam.status, to);
      if (refused) throw new InvalidInputError('examNumber', `exam ${exam.examNumber}: ${refused}`);
      const change = statusChange(exam, to, source, {}, `exception dismissed: ${why}`);
      return { ...change, unset: ['exception', 'awaitingOrder', 'lateOrderKey'] };
    });
  }

  /**
   * Attaches the studies of exception exam `fromNumber` to exam `toNumber` of the same facility, then cancels
   * `fromNumber` with the reason. Answers both exams and the moved study UIDs (the study index follows them).
   */
  async attachStudies(
    fromNumber: string,
    toNumber: string,
    by: ChangeSource,
  ): Promise<{ from: Exam; to: Exam; studyInstanceUids: string[] }> {
    const source = checkSource(by);
    if (fromNumber === toNumber) throw new InvalidInputError('examNumber', 'choose another exam than this one');
    const from = await this.#writes.require(fromNumber);
    const target = await this.#writes.require(toNumber);
    if (!onList(from)) throw new InvalidInputError('examNumber', `exam ${fromNumber} is not on the exception list`);
    if (from.studies.length === 0) throw new InvalidInputError('examNumber', `exam ${fromNumber} has no study`);
    if (target.facility !== from.facility)
      throw new InvalidInputError('examNumber', `exam ${toNumber} belongs to another facility`);
    const moved = from.studies;
    const to = await this.#writes.mutate(toNumber, {}, async (exam) => attachAll(exam, moved, source));
    const closed = await this.#writes.mutate(fromNumber, {}, async (exam) => {
      if (exam.status === 'cancelled' && exam.studies.length === 0) return undefined;
      if (refusal(exam.status, 'cancelled') !== undefined)
        throw new InvalidInputError(
          'examNumber',
          `exam ${fromNumber} is ${exam.status} and cannot give its study away`,
        );
      const cancelled = statusChange(exam, 'cancelled', source, { studies: [] }, `study attached to exam ${toNumber}`);
      return { ...cancelled, unset: ['exception', 'awaitingOrder', 'lateOrderKey'] };
    });
    return { from: closed, to, studyInstanceUids: moved.map((s) => s.studyInstanceUid) };
  }
}

/** The studies on the target (kept as they were, complete ones stay complete); a new one moves it to images-received. */
function attachAll(exam: Exam, studies: readonly StudyRef[], by: ChangeSource) {
  const known = new Set(exam.studies.map((s) => s.studyInstanceUid));
  const added = studies.filter((s) => !known.has(s.studyInstanceUid));
  if (added.length === 0) return undefined;
  const to: ExamStatus | undefined =
    exam.status === 'requested'
      ? 'images-received'
      : exam.status === 'completed' || exam.status === 'cancelled'
        ? 'reactivated'
        : undefined;
  const set: Partial<Exam> = { studies: [...exam.studies, ...added] };
  if (to) set.status = to;
  const data = {
    studyInstanceUid: added.map((s) => s.studyInstanceUid).join(','),
    ...(to ? { from: exam.status, to } : {}),
  };
  return examChange(
    exam,
    by,
    {
      set,
      event: 'exam.study-attached',
      reason: 'attached from the exception list',
      ...(to ? { changes: { status: { from: exam.status, to } } } : {}),
    },
    to
      ? ['exam.study-attached', to === 'reactivated' ? 'exam.reactivated' : 'exam.status-changed']
      : ['exam.study-attached'],
    data,
  );
}
