import test from 'ava';
import { StudyIndex } from '../../dicom/study-index.ts';
import { matchStudy } from '../../dicom/study-matching.ts';
import { openTestHub } from '../exams/setup.ts';

const dicom = { actor: 'dicom-scp', via: 'dicom' } as const;

test('a PatientID shaped like an exam number that does not exist puts the study on the exception list with the reason', async (t) => {
  const { exams, store } = await openTestHub(t);
  const index = new StudyIndex(store.db);
  const facility = (await exams.facilities.get('VALLEYGEN'))!;
  const tags = { studyInstanceUid: '1.2.3.900', patientId: 'RSO-2026-999999', patientName: 'DOE^JANE', modality: 'CT' };
  const match = await matchStudy(exams, index, facility, tags, dicom);
  const exam = await exams.require(match.examNumber);
  t.truthy(exam.exception, 'the exam carries why it is an exception');
  t.regex(exam.exception?.reason ?? '', /form of an RSO exam number/);
  const exceptions = await exams.lists.exceptions('VALLEYGEN');
  t.deepEqual(
    exceptions.map((e) => e.examNumber),
    [exam.examNumber],
    'the technician sees it on the exception list',
  );
});

test('an ordinary PatientID that matches nothing makes a new exam that is not an exception', async (t) => {
  const { exams, store } = await openTestHub(t);
  const index = new StudyIndex(store.db);
  const facility = (await exams.facilities.get('VALLEYGEN'))!;
  const match = await matchStudy(
    exams,
    index,
    facility,
    { studyInstanceUid: '1.2.3.901', patientId: 'MRN-901', modality: 'CT' },
    dicom,
  );
  t.is(match.method, 'new-exam');
  t.is((await exams.require(match.examNumber)).exception, undefined);
  t.deepEqual(await exams.lists.exceptions('VALLEYGEN'), []);
});
