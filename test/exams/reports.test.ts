// The report service as the ways in use it: a draft typed by a transcriber, edited, signed by the radiologist,
// amended; the exam following each step; the refusals with their reasons; every change's event in the same
// write as the report.
import test from 'ava';
import { InvalidInputError, NotFoundError, ReportRefusedError, VersionConflictError } from '../../exams/errors.ts';
import { eventsCollection, type ExamEvent } from '../../exams/outbox.ts';
import type { ExamService } from '../../exams/service.ts';
import { orderedExam } from './report-setup.ts';
import { hl7Source, openTestHub } from './setup.ts';

const transcriber = { actor: 'tina', via: 'admin-ui' } as const;
const radiologist = { actor: 'rad-chen', via: 'admin-ui' } as const;

test('a transcriber drafts, edits; the radiologist signs final: the exam is final and each change has its event', async (t) => {
  const { exams, store } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RP1');
  const draft = await exams.reports.create(
    { examNumber: exam.examNumber, findings: 'Brain parenchyma normal.', transcriber: 'tina' },
    transcriber,
  );
  t.is(draft._id, `${exam.examNumber}-R1`);
  t.is(draft.state, 'draft');
  t.deepEqual(
    draft.outbox.map((e) => [e.type, e.data]),
    [['report.saved', { reportId: draft._id, state: 'draft' }]],
    'the event is in the document the create wrote',
  );
  const edited = await exams.reports.edit(draft._id, { impression: 'No acute findings.' }, transcriber, {
    expectedVersion: 1,
  });
  t.is(edited.version, 2);
  await t.throwsAsync(exams.reports.edit(draft._id, { impression: 'x' }, transcriber, { expectedVersion: 1 }), {
    instanceOf: VersionConflictError,
  });
  const signed = await exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist);
  t.is(signed.state, 'final');
  t.deepEqual(signed.author, { id: 'rad-chen', name: 'Dr. Wei Chen' });
  t.truthy(signed.signedAt);
  t.is(signed.pendingExam, undefined);

  const stored = await exams.require(exam.examNumber);
  t.is(stored.status, 'final', 'a final report moves the exam (assigned implicitly to its author)');
  t.is(stored.radiologistId, 'rad-chen');
  t.deepEqual(
    stored.reports.map((r) => [r.id, r.status, r.reportVersion]),
    [[draft._id, 'final', 3]],
  );
  const doc = await exams.reports.require(draft._id);
  t.is(doc.pendingExam, undefined, 'the exam step is done, so the marker is gone');

  await exams.outbox.publishPending();
  const events = await store.db
    .collection<ExamEvent>(eventsCollection)
    .find({ type: { $in: ['report.saved', 'report.issued'] } })
    .sort({ seq: 1 })
    .toArray();
  t.deepEqual(
    events.map((e) => [e.type, e.data['state'], e.data['from'] ?? null, e.version]),
    [
      ['report.saved', 'draft', null, 1],
      ['report.saved', 'draft', null, 2],
      ['report.issued', 'final', 'draft', 3],
    ],
  );
  t.is(events[2]?.examNumber, exam.examNumber);
  t.is(events[2]?.facility, 'VALLEYGEN');
});

test('an amendment of a final report is issued again and the exam becomes amended', async (t) => {
  const { exams, store } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RP2');
  const report = await exams.reports.create(
    { examNumber: exam.examNumber, state: 'final', author: 'rad-chen', impression: 'Normal.' },
    radiologist,
  );
  t.is((await exams.require(exam.examNumber)).status, 'final');
  await t.throwsAsync(exams.reports.amend(report._id, { impression: 'x' }, '', radiologist), {
    instanceOf: InvalidInputError,
    message: /reason: say why/,
  });
  const amended = await exams.reports.amend(
    report._id,
    { impression: 'Small chronic lacunar infarct.' },
    'missed finding',
    radiologist,
  );
  t.is(amended.state, 'amended');
  t.is(amended.reason, 'missed finding');
  t.is((await exams.require(exam.examNumber)).status, 'amended');
  await exams.outbox.publishPending();
  const issued = await store.db.collection<ExamEvent>(eventsCollection).find({ type: 'report.issued' }).toArray();
  t.deepEqual(
    issued.map((e) => [e.data['state'], e.data['from']]),
    [
      ['final', 'new'],
      ['amended', 'final'],
    ],
  );
  await t.throwsAsync(exams.reports.edit(report._id, { impression: 'y' }, radiologist), {
    instanceOf: ReportRefusedError,
    message: /amended, not edited/,
  });
  const withdrawn = await exams.reports.enteredInError(report._id, 'wrong patient', radiologist);
  t.is(withdrawn.state, 'entered-in-error');
  await t.throwsAsync(exams.reports.amend(report._id, { impression: 'z' }, 'again', radiologist), {
    instanceOf: ReportRefusedError,
    message: /not changed any more/,
  });
});

test('refusals name their reason and store nothing', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RP3');
  await t.throwsAsync(exams.reports.create({ examNumber: 'RSO-1999-999999' }, transcriber), {
    instanceOf: NotFoundError,
    message: /exam RSO-1999-999999 does not exist/,
  });
  await t.throwsAsync(
    exams.reports.create({ examNumber: exam.examNumber, state: 'final', impression: 'Normal.' }, radiologist),
    { instanceOf: InvalidInputError, message: /final report needs its author/ },
  );
  await t.throwsAsync(
    exams.reports.create(
      { examNumber: exam.examNumber, state: 'final', impression: 'Normal.', author: 'dr-nobody' },
      radiologist,
    ),
    { instanceOf: InvalidInputError, message: /"dr-nobody" is not a radiologist of facility VALLEYGEN/ },
  );
  t.deepEqual(await exams.reports.listByExam(exam.examNumber), []);
  const draft = await exams.reports.create({ examNumber: exam.examNumber, findings: 'x' }, transcriber);
  const before = await exams.reports.require(draft._id);
  await t.throwsAsync(exams.reports.amend(draft._id, { impression: 'y' }, 'why', radiologist), {
    instanceOf: ReportRefusedError,
    message: /only a final report is amended; this one is draft/,
  });
  await t.throwsAsync(exams.reports.sign(draft._id, {}, radiologist), {
    instanceOf: InvalidInputError,
    message: /needs its author/,
  });
  t.deepEqual(await exams.reports.require(draft._id), before);
  await exams.cancel(exam.examNumber, hl7Source);
  await t.throwsAsync(exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist), {
    instanceOf: ReportRefusedError,
    message: /is cancelled/,
  });
  t.is((await exams.reports.cancel(draft._id, 'exam cancelled', radiologist)).state, 'cancelled');
});

test('search by patient, exam, state, date and identifier, with count and sort', async (t) => {
  const { exams } = await openTestHub(t);
  const a = await orderedExam(exams, 'RS1');
  const b = await orderedExam(exams, 'RS2');
  const ra = await exams.reports.create(
    {
      examNumber: a.examNumber,
      state: 'final',
      author: 'rad-chen',
      impression: 'A',
      identifiers: [{ system: 'urn:dictation', value: 'D-1' }],
    },
    radiologist,
  );
  const rb = await exams.reports.create({ examNumber: b.examNumber, findings: 'B' }, transcriber);
  const ids = async (query: Parameters<ExamService['reports']['search']>[0]) =>
    (await exams.reports.search(query)).items.map((r) => r._id);
  t.deepEqual(await ids({ patientIds: [a.patientId] }), [ra._id]);
  t.deepEqual(await ids({ examNumbers: [b.examNumber] }), [rb._id]);
  t.deepEqual(await ids({ states: ['final'] }), [ra._id]);
  t.deepEqual(await ids({ identifier: { system: 'urn:dictation', value: 'D-1' } }), [ra._id]);
  t.deepEqual(await ids({ identifier: { value: 'D-2' } }), []);
  t.deepEqual(await ids({ dates: [{ from: '2000-01-01T00:00:00.000Z', before: '2000-01-02T00:00:00.000Z' }] }), []);
  t.deepEqual(await ids({ dates: [{ from: '2000-01-01T00:00:00.000Z' }], sort: [{ field: '_id', direction: 1 }] }), [
    ra._id,
    rb._id,
  ]);
  const page = await exams.reports.search({ sort: [{ field: 'createdAt', direction: 1 }], limit: 1 });
  t.is(page.total, 2);
  t.deepEqual(
    page.items.map((r) => r._id),
    [ra._id],
  );
  t.false('history' in page.items[0]!);
  t.deepEqual(await ids({ facilities: ['OTHER'] }), []);
});
