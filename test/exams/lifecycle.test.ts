import test from 'ava';
import { DuplicateError, ReportRefusedError, TransitionRefusedError } from '../../exams/errors.ts';
import { allowedNext, examStatuses, refusal } from '../../exams/lifecycle.ts';
import { hl7Source, openTestHub, userSource } from './setup.ts';
import type { ExamService } from '../../exams/service.ts';

async function newExam(exams: ExamService, placer: string) {
  return exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'VALLEYGEN', value: `MRN-${placer}`, facility: 'VALLEYGEN' }],
        name: { family: 'Doe', given: ['Jane'] },
        birthDate: '1970-04-01',
        sex: 'female',
      },
      identifiers: [{ kind: 'placer', value: placer }],
      procedure: { code: 'CTHEAD', text: 'CT head without contrast' },
      modality: 'CT',
    },
    hl7Source,
  );
}

test('the table: the reading path is allowed, skipping ahead is not', (t) => {
  t.is(refusal('requested', 'images-received'), undefined);
  t.is(refusal('images-received', 'assigned'), undefined);
  t.is(refusal('assigned', 'preliminary'), undefined);
  t.is(refusal('preliminary', 'final'), undefined);
  t.is(refusal('final', 'amended'), undefined);
  t.is(refusal('amended', 'completed'), undefined);
  t.is(refusal('completed', 'reactivated'), undefined);
  t.truthy(refusal('requested', 'final'));
  t.truthy(refusal('completed', 'cancelled'));
  t.truthy(refusal('final', 'cancelled'));
  for (const status of examStatuses) t.true(allowedNext(status).length > 0, `${status} is not a dead end`);
});

test('an exam walks the whole lifecycle and every step is in its history with who made it', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await newExam(exams, 'P1001');
  t.is(exam.status, 'requested');
  await exams.attachStudy(
    exam.examNumber,
    { studyInstanceUid: '1.2.840.113619.2.55.3.1001', modality: 'CT', instanceCount: 120, sourceAeTitle: 'VALLEY_CT' },
    { actor: 'dicom-scp', via: 'dicom' },
  );
  await exams.assign(exam.examNumber, 'rad-chen', userSource);
  const radiologist = { actor: 'rad-chen', via: 'admin-ui' };
  const report = await exams.reports.create(
    { examNumber: exam.examNumber, state: 'preliminary', author: 'rad-chen', impression: 'No bleed.' },
    radiologist,
  );
  await exams.reports.sign(report._id, {}, radiologist);
  await exams.reports.amend(report._id, { impression: 'No bleed. Small old infarct.' }, 'missed finding', radiologist);
  const done = await exams.changeStatus(exam.examNumber, 'completed', userSource);
  t.is(done.status, 'completed');
  const stored = await exams.require(exam.examNumber);
  t.is(stored.version, 7);
  t.deepEqual(
    stored.history.map((h) => [h.event, h.by.actor, h.changes?.['status']?.to ?? null]),
    [
      ['exam.created', 'channel:valley-orders', null],
      ['exam.study-attached', 'dicom-scp', 'images-received'],
      ['exam.status-changed', 'maria', 'assigned'],
      ['exam.report-attached', 'rad-chen', 'preliminary'],
      ['exam.report-attached', 'rad-chen', 'final'],
      ['exam.report-attached', 'rad-chen', 'amended'],
      ['exam.status-changed', 'maria', 'completed'],
    ],
  );
  t.is(stored.radiologistId, 'rad-chen');
  t.deepEqual(
    stored.reports.map((r) => [r.id, r.status]),
    [[report._id, 'amended']],
  );
  t.is(stored.studies[0]?.studyInstanceUid, '1.2.840.113619.2.55.3.1001');
});

test('a refused transition names from and to and leaves the stored exam unchanged', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await newExam(exams, 'P1002');
  const before = await exams.require(exam.examNumber);
  const error = await t.throwsAsync(exams.changeStatus(exam.examNumber, 'final', userSource), {
    instanceOf: TransitionRefusedError,
  });
  t.is(error?.from, 'requested');
  t.is(error?.to, 'final');
  t.regex(error?.message ?? '', /requested -> final is not allowed/);
  t.deepEqual(await exams.require(exam.examNumber), before);
  await exams.cancel(exam.examNumber, userSource, { reason: 'ordered twice' });
  await t.throwsAsync(
    exams.reports.create(
      { examNumber: exam.examNumber, state: 'final', author: 'rad-chen', impression: 'x' },
      userSource,
    ),
    { instanceOf: ReportRefusedError, message: /is cancelled/ },
  );
  await t.throwsAsync(exams.updateOrder(exam.examNumber, { priority: 'stat' }, userSource), {
    instanceOf: TransitionRefusedError,
  });
  const cancelled = await exams.require(exam.examNumber);
  t.is(cancelled.status, 'cancelled');
  t.is(cancelled.version, 2);
  t.is(cancelled.history.at(-1)?.reason, 'ordered twice');
});

test('images for a completed exam reactivate it; a pinned old version is refused', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await newExam(exams, 'P1003');
  await exams.cancel(exam.examNumber, userSource);
  const reopened = await exams.attachStudy(
    exam.examNumber,
    { studyInstanceUid: '1.2.3.4.5' },
    { actor: 'dicom-scp', via: 'dicom' },
  );
  t.is(reopened.status, 'reactivated');
  await t.throwsAsync(exams.changeStatus(exam.examNumber, 'assigned', userSource, { expectedVersion: 1 }), {
    message: /expected version 1 but the stored version is 3/,
  });
  t.is((await exams.require(exam.examNumber)).status, 'reactivated');
});

test('a duplicate placer number at the same facility is refused, naming the exam that has it', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await newExam(exams, 'P1004');
  await t.throwsAsync(newExam(exams, 'P1004'), {
    message: new RegExp(`placer number at VALLEYGEN P1004 is already used by exam ${exam.examNumber}`),
  });
  t.is((await exams.findByIdentifier('VALLEYGEN', 'placer', 'P1004'))?.examNumber, exam.examNumber);
});

test('two orders with one placer number at the same moment: one exam, the other refused as a duplicate', async (t) => {
  const { exams } = await openTestHub(t);
  const results = await Promise.allSettled([newExam(exams, 'P1005'), newExam(exams, 'P1005'), newExam(exams, 'P1005')]);
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const result of results)
    if (result.status === 'rejected') t.true(result.reason instanceof DuplicateError, String(result.reason));
  t.is((await exams.findExams({ identifier: { value: 'P1005' } })).total, 1);
});
