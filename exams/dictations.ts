// Dictated exams waiting for a transcriber (issue 15 item 4): a radiologist marks an exam for dictation, a
// transcriber types the report as a draft and hands it back, and the draft then shows on the radiologist's
// reading list as transcribed. One small document per exam in `dictations`, apart from the exam, because the
// exam's lifecycle (exam.ts) does not change: a dictation is who works on the report next, not a state of it.
import { isDuplicateKeyError, type HubCollection, type HubDb } from '../store/db.ts';
import { ExamError } from './errors.ts';
import type { Exam } from './exam.ts';
import type { Report } from './report.ts';

export interface Dictation {
  /** The exam number: one dictation per exam. */
  _id: string;
  facility: string;
  /** The radiologist who dictated (a radiologist id of the facility, the user name that signs). */
  radiologist: string;
  markedAt: string;
  state: 'waiting' | 'transcribed';
  transcriber?: string;
  reportId?: string;
  transcribedAt?: string;
}

/** A dictation step that does not fit what is stored: 409 with the reason. */
export class DictationRefusedError extends ExamError {
  constructor(examNumber: string, reason: string) {
    super('transition-refused', 'dictation', `exam ${examNumber}: ${reason}`);
    this.name = 'DictationRefusedError';
  }
}

export class Dictations {
  readonly #collection: HubCollection<Dictation>;

  constructor(db: HubDb) {
    this.#collection = db.collection<Dictation>('dictations');
  }

  async ensureIndexes(): Promise<void> {
    await this.#collection.createIndex({ state: 1, facility: 1, markedAt: 1 });
  }

  get(examNumber: string): Promise<Dictation | null> {
    return this.#collection.findOne({ _id: examNumber });
  }

  /** Marks the exam dictated by the radiologist; marking it again while it waits changes nothing. */
  async mark(exam: Pick<Exam, 'examNumber' | 'facility'>, radiologist: string): Promise<Dictation> {
    const existing = await this.get(exam.examNumber);
    if (existing?.state === 'transcribed')
      throw new DictationRefusedError(exam.examNumber, 'the dictation was already transcribed');
    if (existing) return existing;
    const dictation: Dictation = {
      _id: exam.examNumber,
      facility: exam.facility,
      radiologist,
      markedAt: new Date().toISOString(),
      state: 'waiting',
    };
    try {
      await this.#collection.insertOne(dictation);
    } catch (error) {
      // Marked twice at once: the first mark stands.
      if (!isDuplicateKeyError(error)) throw error;
      return (await this.get(exam.examNumber)) ?? dictation;
    }
    return dictation;
  }

  /** Dictations still to type, oldest first, at the facilities given (undefined: all). */
  waiting(facilities: readonly string[] | undefined, limit = 200): Promise<Dictation[]> {
    const filter: Record<string, unknown> = { state: 'waiting' };
    if (facilities !== undefined) filter['facility'] = { $in: [...facilities] };
    return this.#collection
      .find(filter as never)
      .sort({ markedAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** The dictations of these exams, by exam number (the reading list marks transcribed drafts with them). */
  async ofExams(examNumbers: readonly string[]): Promise<Map<string, Dictation>> {
    if (examNumbers.length === 0) return new Map();
    const found = await this.#collection.find({ _id: { $in: [...examNumbers] } } as never).toArray();
    return new Map(found.map((d) => [d._id, d]));
  }

  /**
   * The transcriber hands the typed draft to the radiologist: only a waiting dictation, and only a draft of this
   * exam with some text, so the radiologist never gets an empty or already signed report as "transcribed".
   */
  async handOver(examNumber: string, report: Report, transcriber: string): Promise<Dictation> {
    if (report.examNumber !== examNumber)
      throw new DictationRefusedError(examNumber, `report ${report._id} belongs to exam ${report.examNumber}`);
    if (report.state !== 'draft')
      throw new DictationRefusedError(examNumber, `report ${report._id} is ${report.state}, not a draft`);
    if (!report.findings && !report.impression)
      throw new DictationRefusedError(examNumber, 'the draft has no findings and no impression yet');
    const at = new Date().toISOString();
    const set = { state: 'transcribed' as const, transcriber, reportId: report._id, transcribedAt: at };
    const result = await this.#collection.findOneAndUpdate(
      { _id: examNumber, state: 'waiting' } as never,
      { $set: set },
      { returnDocument: 'after' },
    );
    if (result) return result;
    const current = await this.get(examNumber);
    throw new DictationRefusedError(
      examNumber,
      current ? 'the dictation was already handed over' : 'it was not marked for dictation',
    );
  }
}
