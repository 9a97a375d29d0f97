import test from 'ava';
import { hl7Source, openTestHub, userSource } from './setup.ts';
import type { ExamService } from '../../exams/service.ts';
import type { Priority } from '../../exams/exam.ts';

async function order(exams: ExamService, placer: string, priority: Priority, technicianId?: string) {
  return exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'VALLEYGEN', value: `MRN-${placer}` }] },
      identifiers: [{ kind: 'placer', value: placer }],
      procedure: { code: 'XRCHEST', text: 'XR chest 2 views' },
      modality: 'DX',
      priority,
      ...(technicianId ? { technicianId } : {}),
    },
    hl7Source,
  );
}

test('the work lists: active (most urgent first), completed, technician, exceptions', async (t) => {
  const { exams } = await openTestHub(t);
  const routine = await order(exams, 'L1', 'routine', 'tech-maria');
  const stat = await order(exams, 'L2', 'stat');
  const done = await order(exams, 'L3', 'urgent', 'tech-maria');
  const cancelled = await order(exams, 'L4', 'routine');
  const reopened = await order(exams, 'L5', 'asap');
  for (const exam of [done, reopened]) {
    await exams.attachStudy(exam.examNumber, { studyInstanceUid: `1.2.3.${exam.examNumber.slice(-3)}` }, userSource);
    await exams.assign(exam.examNumber, 'rad-chen', userSource);
    await exams.reports.create(
      { examNumber: exam.examNumber, state: 'final', author: 'rad-chen', impression: 'Normal chest.' },
      userSource,
    );
    await exams.changeStatus(exam.examNumber, 'completed', userSource);
  }
  await exams.cancel(cancelled.examNumber, userSource);
  await exams.changeStatus(reopened.examNumber, 'reactivated', userSource, { reason: 'more images' });

  const active = await exams.lists.facilityActive('VALLEYGEN');
  t.deepEqual(
    active.map((e) => e.examNumber),
    [stat.examNumber, reopened.examNumber, routine.examNumber],
  );
  t.false('history' in active[0]!, 'lists leave out the history');
  t.deepEqual(
    (await exams.lists.facilityCompleted('VALLEYGEN')).map((e) => e.examNumber),
    [done.examNumber],
  );
  t.deepEqual(
    (await exams.lists.technicianActive('tech-maria')).map((e) => e.examNumber),
    [routine.examNumber],
  );
  t.deepEqual(
    (await exams.lists.exceptions('VALLEYGEN')).map((e) => e.examNumber),
    [reopened.examNumber],
  );
  t.deepEqual(await exams.lists.facilityActive('OTHER'), []);
});
