// What DICOM tells an exam about its images: a study was attached (the first one moves a requested exam to
// images-received, one for a closed exam reopens it) and a study is complete (dicom/study-completion.ts), which
// routes it to the radiologist PACS. The exam keeps a reference per study; the instances are dicom/'s.
import { checkSource, type ChangeSource, type FieldValue } from './change.ts';
import { InvalidInputError } from './errors.ts';
import type { Exam, StudyRef } from './exam.ts';
import { examChange, withoutUndefined, type ExamWrites } from './exam-writes.ts';
import type { ExamStatus } from './lifecycle.ts';
import type { ExamEventType } from './outbox.ts';

/** What the DICOM side knows of a study when it attaches it; the exam adds the times. */
export type StudyInput = Omit<StudyRef, 'receivedAt' | 'completedAt'>;

/** What a completed study tells the exam (dicom/study-completion.ts). */
export interface StudyCompletion {
  studyInstanceUid: string;
  instanceCount: number;
  seriesCount?: number;
}

export class StudyCommands {
  readonly #writes: ExamWrites;

  constructor(writes: ExamWrites) {
    this.#writes = writes;
  }

  async attachStudy(examNumber: string, study: StudyInput, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    if (!/^[0-9.]{1,64}$/.test(study.studyInstanceUid ?? '')) {
      throw new InvalidInputError(
        'studyInstanceUid',
        'expected a DICOM UID (digits and dots, at most 64 characters; PS3.5 §9)',
      );
    }
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      const ref: StudyRef = { ...withoutUndefined(study), receivedAt: new Date().toISOString() };
      const index = exam.studies.findIndex((s) => s.studyInstanceUid === study.studyInstanceUid);
      const studies =
        index < 0
          ? [...exam.studies, ref]
          : exam.studies.map((s, i) => (i === index ? { ...s, ...ref, receivedAt: s.receivedAt } : s));
      const to: ExamStatus | undefined =
        exam.status === 'requested'
          ? 'images-received'
          : exam.status === 'completed' || exam.status === 'cancelled'
            ? 'reactivated'
            : undefined;
      const data = { studyInstanceUid: study.studyInstanceUid, ...(to ? { from: exam.status, to } : {}) };
      const types: ExamEventType[] = ['exam.study-attached'];
      if (to) types.push(to === 'reactivated' ? 'exam.reactivated' : 'exam.status-changed');
      const set: Partial<Exam> = { studies };
      if (to) set.status = to;
      const changes = to ? { status: { from: exam.status, to } } : undefined;
      return examChange(
        exam,
        source,
        { set, event: 'exam.study-attached', ...(changes ? { changes } : {}) },
        types,
        data,
      );
    });
  }

  async completeStudy(examNumber: string, study: StudyCompletion, by: ChangeSource): Promise<Exam> {
    const source = checkSource(by);
    if (!Number.isInteger(study.instanceCount) || study.instanceCount < 1)
      throw new InvalidInputError('instanceCount', 'expected a whole number of instances above 0');
    return this.#writes.mutate(examNumber, {}, async (exam) => {
      const index = exam.studies.findIndex((s) => s.studyInstanceUid === study.studyInstanceUid);
      if (index < 0)
        throw new InvalidInputError(
          'studyInstanceUid',
          `study ${study.studyInstanceUid} is not attached to exam ${examNumber}`,
        );
      const completedAt = new Date().toISOString();
      const counts = {
        instanceCount: study.instanceCount,
        ...(study.seriesCount === undefined ? {} : { seriesCount: study.seriesCount }),
      };
      const studies = exam.studies.map((s, i) => (i === index ? { ...s, ...counts, completedAt } : s));
      const data: Record<string, FieldValue> = { studyInstanceUid: study.studyInstanceUid, ...counts };
      return examChange(
        exam,
        source,
        { set: { studies }, event: 'exam.study-complete' },
        ['exam.study-complete'],
        data,
      );
    });
  }
}
