// Study completion's scheduler jobs on the embedded store: a finished completion leaves no job behind, those an
// earlier version left are removed at start, and a study that got another instance while waiting is completed
// once, by the job scheduled for its new due time.
// Finished jobs kept in the jobs collection made agenda's claim of the next one (which reads every job of the
// name) slower with every study ever received. The study index and the exam service are stand-ins that record
// what completion asks of them: what is tested here is the jobs, on the real scheduler and store.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { StudyCompletion, studyCompleteJob } from '../../dicom/study-completion.ts';
import type { StudyIndex, StudyRecord } from '../../dicom/study-index.ts';
import type { ExamService } from '../../exams/service.ts';
import { Scheduler } from '../../runtime/scheduler.ts';
import { EmbeddedStore } from '../../store/embedded/db.ts';
import { quietLog } from '../exams/setup.ts';

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('a completed study leaves no job behind; a study touched while waiting completes once, at its new due time', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-completion-'));
  const store = new EmbeddedStore(path.join(dir, 'hub.sqlite'));
  const scheduler = new Scheduler({ db: store.db, log: quietLog, processEveryMs: 20, defaultLockLifetimeMs: 1_000 });
  t.teardown(async () => {
    await scheduler.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const studies = new Map<string, StudyRecord>();
  const completed: string[] = [];
  const index = {
    study: async (uid: string) => studies.get(uid),
    claimCompletionJob: async () => true,
    releaseCompletionJob: async () => undefined,
    markComplete: async (uid: string) => {
      studies.set(uid, { ...studies.get(uid)!, complete: true });
      return true;
    },
    overdue: async () => [],
  } as unknown as StudyIndex;
  const exams = {
    completeStudy: async (_exam: string, study: { studyInstanceUid: string }) =>
      void completed.push(study.studyInstanceUid),
  } as unknown as ExamService;
  const completion = new StudyCompletion({ scheduler, index, exams, log: quietLog });
  completion.define();
  const jobs = store.db.collection('agendaJobs');
  // What an earlier version kept: a finished run, beside one still due (which must stay).
  const finished = { name: studyCompleteJob, data: { studyInstanceUid: '0.9' }, type: 'normal', priority: 0 };
  await jobs.insertOne({ ...finished, nextRunAt: null, lockedAt: null, lastFinishedAt: new Date(1000) });
  await jobs.insertOne({ ...finished, nextRunAt: new Date(Date.now() + 3_600_000), lockedAt: null });
  await scheduler.start();
  await completion.start();
  t.is(await jobs.countDocuments({ name: studyCompleteJob }), 1, 'the finished run removed, the due one kept');
  await jobs.deleteMany({ name: studyCompleteJob });
  const study = (uid: string, dueInMs: number): StudyRecord =>
    ({
      _id: uid,
      examNumber: `EX-${uid}`,
      complete: false,
      completionScheduled: false,
      completeDueAt: Date.now() + dueInMs,
      seriesUids: ['1.2.3'],
      instanceCount: 1,
    }) as unknown as StudyRecord;

  studies.set('1.1', study('1.1', 0));
  await completion.studyTouched(studies.get('1.1')!);
  // Touched again before its job ran: the job finds the later due time and schedules itself for it.
  studies.set('1.2', study('1.2', 0));
  await completion.studyTouched(studies.get('1.2')!);
  studies.set('1.2', { ...studies.get('1.2')!, completeDueAt: Date.now() + 300 });

  await waitFor('both studies completed', () => completed.length === 2);
  await waitFor('no completion job left', async () => (await jobs.countDocuments({ name: studyCompleteJob })) === 0);
  t.deepEqual(completed.sort(), ['1.1', '1.2']);
  t.is(await jobs.countDocuments({ name: studyCompleteJob }), 0);
});
