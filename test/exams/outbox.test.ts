import test from 'ava';
import { ExamService } from '../../exams/service.ts';
import { openStore } from '../../store/open.ts';
import { hl7Source, openTestHub, quietLog, userSource } from './setup.ts';

interface Doc {
  _id: string;
  [key: string]: unknown;
}

const order = (placer: string) => ({
  facility: 'VALLEYGEN',
  patient: { identifiers: [{ system: 'VALLEYGEN', value: `MRN-${placer}` }] },
  identifiers: [{ kind: 'placer' as const, value: placer }],
  procedure: { code: 'MRKNEE', text: 'MR knee' },
  modality: 'MR',
});

test('events wait inside the changed exam until published, then a subscriber reads them in order', async (t) => {
  const { exams, store } = await openTestHub(t);
  const exam = await exams.createOrder(order('P2001'), hl7Source);
  await exams.attachStudy(exam.examNumber, { studyInstanceUid: '1.2.3.2001' }, { actor: 'dicom-scp', via: 'dicom' });
  const raw = await store.db.collection<Doc>('exams').findOne({ _id: exam.examNumber });
  t.is(
    (raw?.['outbox'] as unknown[] | undefined)?.length,
    3,
    'created + study-attached + status-changed wait in the document',
  );
  t.is(await exams.outbox.publishPending(), 4, 'the patient.created event too');
  const published = await store.db.collection<Doc>('exams').findOne({ _id: exam.examNumber });
  t.is((published?.['outbox'] as unknown[] | undefined)?.length, 0);
  const sub = exams.outbox.subscription('routes');
  const events = await sub.pull();
  const examEvents = events.filter((e) => e.examNumber === exam.examNumber);
  t.deepEqual(
    examEvents.map((e) => e.type),
    ['exam.created', 'exam.study-attached', 'exam.status-changed'],
  );
  t.deepEqual(examEvents[2]?.data, { studyInstanceUid: '1.2.3.2001', from: 'requested', to: 'images-received' });
  t.is(examEvents[1]?.by.actor, 'dicom-scp');
  t.true(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq));
});

test('an unacknowledged event is delivered again after a restart; acknowledged ones are not', async (t) => {
  const first = await openTestHub(t);
  const { dataDir } = first;
  const exam = await first.exams.createOrder(order('P2002'), hl7Source);
  await first.exams.cancel(exam.examNumber, userSource);
  await first.exams.outbox.publishPending();
  const sub = first.exams.outbox.subscription('fax');
  const batch = await sub.pull(2);
  t.is(batch.length, 2);
  await sub.ack(batch[0]!.seq);
  await first.exams.stop();
  await first.store.close();

  // The same store opened again, as after a crash or a restart of the hub.
  const store = await openStore({ dataDir, log: quietLog });
  t.teardown(() => store.close());
  const exams = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000 });
  const again = await exams.outbox.subscription('fax').pull(10);
  t.is(again[0]?.id, batch[1]?.id, 'starts with the first unacknowledged event');
  t.deepEqual(
    again.map((e) => e.type),
    ['exam.cancelled', 'patient.created'],
  );
  await exams.outbox.subscription('fax').ack(again.at(-1)!.seq);
  t.deepEqual(await exams.outbox.subscription('fax').pull(10), []);
  t.is((await exams.outbox.subscription('other').pull(10)).length, 3, 'each subscriber has its own cursor');
});

test('a publisher that crashed after copying an event publishes it exactly once', async (t) => {
  const { exams, store } = await openTestHub(t);
  const exam = await exams.createOrder(order('P2003'), hl7Source);
  const pending = (await store.db.collection<Doc>('exams').findOne({ _id: exam.examNumber }))?.['outbox'] as Array<{
    id: string;
  }>;
  // Simulate the crash window: the event reached the log, but was not yet removed from the exam.
  await store.db
    .collection<Doc>('exam_events')
    .insertOne({ ...pending[0], _id: pending[0]!.id, seq: 999, publishedAt: new Date().toISOString() });
  await exams.outbox.publishPending();
  const events = await store.db.collection<Doc>('exam_events').find({ examNumber: exam.examNumber }).toArray();
  t.is(events.length, 1);
  t.is(
    ((await store.db.collection<Doc>('exams').findOne({ _id: exam.examNumber }))?.['outbox'] as unknown[] | undefined)
      ?.length,
    0,
  );
});

test('the running publisher moves events without being asked', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await exams.createOrder(order('P2004'), hl7Source);
  const sub = exams.outbox.subscription('live');
  for (let i = 0; i < 200; i++) {
    const events = await sub.pull();
    if (events.some((e) => e.examNumber === exam.examNumber)) return t.pass();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.fail('the created event was never published');
});
