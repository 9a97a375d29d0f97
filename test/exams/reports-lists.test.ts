// The lists a report changes: a radiologist's reading list (a complete study, no final report, at the
// facilities the radiologist reads for) and the facility's completed list, which shows each exam's report state.
import test from 'ava';
import { orderedExam } from './report-setup.ts';
import { hl7Source, openTestHub } from './setup.ts';

const radiologist = { actor: 'rad-chen', via: 'admin-ui' } as const;

test('the reading list has complete studies without a final report; the completed list shows report states', async (t) => {
  const { exams } = await openTestHub(t);
  const ready = await orderedExam(exams, 'L1');
  const waiting = await orderedExam(exams, 'L2');
  const drafted = await orderedExam(exams, 'L3');
  const signed = await orderedExam(exams, 'L4');
  for (const exam of [ready, drafted, signed]) {
    const uid = (await exams.require(exam.examNumber)).studies[0]!.studyInstanceUid;
    await exams.completeStudy(exam.examNumber, { studyInstanceUid: uid, instanceCount: 40 }, hl7Source);
  }
  await exams.reports.create({ examNumber: drafted.examNumber, findings: 'typing' }, radiologist);
  const report = await exams.reports.create(
    { examNumber: signed.examNumber, state: 'final', author: 'rad-chen', impression: 'Normal.' },
    radiologist,
  );

  const reading = await exams.lists.readingList('rad-chen');
  t.deepEqual(
    reading.map((e) => [e.examNumber, e.reportState ?? null]),
    [
      [ready.examNumber, null],
      [drafted.examNumber, 'draft'],
    ],
  );
  t.false(
    reading.some((e) => e.examNumber === waiting.examNumber),
    'a study still arriving is not ready to read',
  );
  t.deepEqual(await exams.lists.readingList('rad-nobody'), []);
  t.deepEqual(await exams.lists.readingList('rad-chen', { facilities: ['OTHER'] }), []);

  const completed = await exams.lists.facilityCompleted('VALLEYGEN');
  t.deepEqual(
    completed.map((e) => [e.examNumber, e.status, e.reportState]),
    [[signed.examNumber, 'final', 'final']],
  );
  t.false((await exams.lists.facilityActive('VALLEYGEN')).some((e) => e.examNumber === signed.examNumber));
  await exams.reports.amend(report._id, { impression: 'Small nodule.' }, 'missed', radiologist);
  const amended = await exams.lists.facilityCompleted('VALLEYGEN');
  t.deepEqual(
    amended.map((e) => [e.examNumber, e.status, e.reportState]),
    [[signed.examNumber, 'amended', 'amended']],
  );
});
