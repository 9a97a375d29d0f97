// When is a study complete? DIMSE has no "end of study" (a modality may send a study over several associations,
// minutes apart), so the hub waits for `studyQuietSeconds` without a new instance. Each study has at most one
// pending scheduler job (StudyRecord.completionScheduled, claimed atomically); every instance pushes the due
// time back in the study record, and a job that wakes up early simply schedules itself for the new due time,
// so the jobs collection sees one job per quiet period instead of one per instance.
//
// Completing = ExamService.completeStudy (the exam event `exam.study-complete`, written through the outbox),
// THEN marking the study complete. A crash in between repeats the event, never loses it; a repeated event
// costs nothing at the PACS, because dicom-scu sends only instances it has not stored yet. A sweep job
// completes studies whose job was lost (a crash between the claim and the schedule).
import type { ExamService } from '../exams/service.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import type { Scheduler } from '../runtime/scheduler.ts';
import type { StudyIndex, StudyRecord } from './study-index.ts';

export const studyCompleteJob = 'dicom-study-complete';
export const studySweepJob = 'dicom-study-sweep';

export interface StudyCompletionOptions {
  scheduler: Scheduler;
  index: StudyIndex;
  exams: ExamService;
  log: Logger;
  /** How often lost completions are looked for. */
  sweepInterval?: string | number;
  /** A study this long past its due time without completion counts as lost (its job is not coming). */
  sweepGraceMs?: number;
}

export class StudyCompletion {
  readonly #options: StudyCompletionOptions;
  readonly #running = new Map<string, Promise<void>>();

  constructor(options: StudyCompletionOptions) {
    this.#options = options;
  }

  /** Defines the jobs; call before or after the scheduler starts, then start() once it runs. */
  define(): void {
    const { scheduler } = this.#options;
    // A finished completion is deleted, not kept with its lastFinishedAt: the study record says it is complete,
    // and agenda's claim of the next job ($or over its lock and due time, which no index of the embedded store
    // serves) reads every job of the name at each poll. Kept, one finished job per study made that read grow with
    // every study ever received: 10,000 new studies took the hub over nine minutes instead of about one.
    scheduler.define<unknown>(studyCompleteJob, async (data) => this.complete(studyUidOf(data)), {
      retry: { maxAttempts: 10, initialDelayMs: 1_000, maxDelayMs: 60_000 },
      removeOnComplete: true,
    });
    scheduler.define<unknown>(studySweepJob, async () => {
      await this.sweep();
    });
  }

  async start(): Promise<void> {
    const purged = await this.#options.scheduler.purgeFinished(studyCompleteJob);
    if (purged > 0) this.#options.log.info('finished study completion jobs removed', { jobs: purged });
    await this.#options.scheduler.every(this.#options.sweepInterval ?? '1 minute', studySweepJob);
  }

  /** After an instance was indexed: make sure one completion job is pending for its study. */
  async studyTouched(study: StudyRecord): Promise<void> {
    // The touch returned the study as written: a pending job already covers the new due time (it reads it when
    // it runs), so most instances of a study cost no write here.
    if (study.completionScheduled === true) return;
    if (!(await this.#options.index.claimCompletionJob(study._id))) return;
    try {
      await this.#options.scheduler.schedule(new Date(study.completeDueAt), studyCompleteJob, {
        studyInstanceUid: study._id,
      });
    } catch (error) {
      await this.#options.index.releaseCompletionJob(study._id);
      throw error;
    }
  }

  /** The job: complete the study if its quiet time is over, else wait for the new due time. */
  async complete(studyInstanceUid: string): Promise<void> {
    const running = this.#running.get(studyInstanceUid);
    if (running) return running;
    const run = this.#complete(studyInstanceUid).finally(() => this.#running.delete(studyInstanceUid));
    this.#running.set(studyInstanceUid, run);
    return run;
  }

  async #complete(studyInstanceUid: string): Promise<void> {
    const { index, exams, log } = this.#options;
    const study = await index.study(studyInstanceUid);
    if (!study || study.complete) {
      if (study) await index.releaseCompletionJob(studyInstanceUid);
      return;
    }
    if (study.examNumber === undefined) {
      // Matching its instances failed (the sender was refused and will resend): the next instance claims again.
      log.warn('study has no exam yet; not completed', { studyInstanceUid });
      await index.releaseCompletionJob(studyInstanceUid);
      return;
    }
    if (study.completeDueAt > Date.now()) {
      await this.#reschedule(studyInstanceUid, study.completeDueAt);
      return;
    }
    const seriesCount = study.seriesUids.length;
    await exams.completeStudy(
      study.examNumber,
      { studyInstanceUid, instanceCount: study.instanceCount, seriesCount },
      { actor: 'dicom-study-completion', via: 'dicom' },
    );
    if (await index.markComplete(studyInstanceUid, study.completeDueAt)) {
      log.info('study complete', {
        studyInstanceUid,
        examNumber: study.examNumber,
        instances: study.instanceCount,
        series: seriesCount,
      });
      return;
    }
    // An instance arrived while completing: the event went out with the old count; complete again later.
    const again = await index.study(studyInstanceUid);
    await this.#reschedule(studyInstanceUid, again?.completeDueAt ?? Date.now());
  }

  async #reschedule(studyInstanceUid: string, dueAt: number): Promise<void> {
    await this.#options.scheduler.schedule(new Date(dueAt), studyCompleteJob, { studyInstanceUid });
  }

  /** Completes studies left overdue; returns how many it tried. */
  async sweep(): Promise<number> {
    const grace = this.#options.sweepGraceMs ?? 60_000;
    const overdue = await this.#options.index.overdue(Date.now() - grace);
    for (const study of overdue) {
      try {
        await this.complete(study._id);
      } catch (error) {
        this.#options.log.warn('completing an overdue study failed', {
          studyInstanceUid: study._id,
          error: errorText(error),
        });
      }
    }
    return overdue.length;
  }
}

function studyUidOf(data: unknown): string {
  const uid =
    typeof data === 'object' && data !== null ? (data as { studyInstanceUid?: unknown }).studyInstanceUid : undefined;
  if (typeof uid !== 'string' || uid === '') throw new Error(`${studyCompleteJob}: job data has no studyInstanceUid`);
  return uid;
}
