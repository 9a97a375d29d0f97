import test from 'ava';
import { ExamService } from '../../exams/service.ts';
import { hl7Source, openTestHub, quietLog } from './setup.ts';

const dicom = { actor: 'dicom-scp', via: 'dicom' } as const;
const adt = { actor: 'channel:valley-adt', via: 'hl7' } as const;

/** What dicom/study-matching.ts does when images match no order: an exam of their own, with the study. */
async function examFromImages(exams: ExamService, patientId: string, uid: string) {
  const exam = await exams.createOrder(
    { facility: 'VALLEYGEN', patient: { id: patientId }, procedure: { code: 'CT' }, modality: 'CT', origin: 'images' },
    dicom,
  );
  return exams.attachStudy(
    exam.examNumber,
    { studyInstanceUid: uid, modality: 'CT', accessionNumber: `ACC-${uid}` },
    dicom,
  );
}

const orderFor = (patientId: string, accession: string) => ({
  facility: 'VALLEYGEN',
  patient: { id: patientId },
  identifiers: [{ kind: 'accession' as const, value: accession }],
  procedure: { code: 'CTHEAD', text: 'CT head' },
  modality: 'CT',
});

test('after a patient merge, the order for the survivor still finds the exam the images made', async (t) => {
  const { exams } = await openTestHub(t);
  const a = (await exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-LA' }] }, adt)).patient;
  const b = (await exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-LB' }] }, adt)).patient;
  const fromImages = await examFromImages(exams, a._id, '1.2.3.71');
  await exams.mergePatients(a._id, b._id, adt);
  const order = await exams.createOrder(orderFor(b._id, 'ACC-1.2.3.71'), hl7Source);
  t.is(order.examNumber, fromImages.examNumber, 'merged into the exam, not a second one');
  t.is(order.patientId, b._id);
  t.is(order.awaitingOrder, undefined);
  t.is(order.lateOrderKey, undefined);
  const another = await exams.createOrder(orderFor(b._id, 'ACC-OTHER'), hl7Source);
  t.not(another.examNumber, fromImages.examNumber, 'an exam takes one late order');
});

test('an exam from images stored without its late-order key is keyed at start and found by its order', async (t) => {
  const { exams, store } = await openTestHub(t);
  const patient = (await exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-OLD' }] }, adt))
    .patient;
  const fromImages = await examFromImages(exams, patient._id, '1.2.3.72');
  // As an earlier version of the hub stored it: the flag only.
  await store.db
    .collection<{ _id: string }>('exams')
    .updateOne({ _id: fromImages.examNumber }, { $unset: { lateOrderKey: '' } });
  const restarted = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000, numberPrefix: 'restarted' });
  await restarted.start();
  t.teardown(() => restarted.stop());
  const order = await restarted.createOrder(orderFor(patient._id, 'ACC-1.2.3.72'), hl7Source);
  t.is(order.examNumber, fromImages.examNumber);
});

test('two different orders arriving at once for one exam from images: one takes it, the other gets its own exam', async (t) => {
  const { exams } = await openTestHub(t);
  const patient = (await exams.recordPatient({ identifiers: [{ system: 'VALLEYGEN', value: 'MRN-RACE' }] }, adt))
    .patient;
  const fromImages = await examFromImages(exams, patient._id, '1.2.3.73');
  const order = (placer: string) => ({
    facility: 'VALLEYGEN',
    patient: { id: patient._id },
    identifiers: [{ kind: 'placer' as const, value: placer }],
    procedure: { code: `CT-${placer}` },
    modality: 'CT',
  });
  const [a, b] = await Promise.all([
    exams.createOrder(order('RACE-A'), hl7Source),
    exams.createOrder(order('RACE-B'), hl7Source),
  ]);
  t.not(a.examNumber, b.examNumber, 'never two orders in one exam');
  t.true([a.examNumber, b.examNumber].includes(fromImages.examNumber), 'one of them took the exam the images made');
  const merged = await exams.require(fromImages.examNumber);
  t.is(merged.identifiers.filter((id) => id.kind === 'placer').length, 1);
});
