// One instance count everywhere (issue 20 item 10): while a study is still arriving, the facility's work list
// and FHIR ImagingStudy show the same, live count, both read from the study index. The quiet time is an hour,
// so the study stays incomplete for the whole test and nothing depends on timing.
import test from 'ava';
import { setLogLevel } from '../../runtime/log.ts';
import { api, defaultTestConfig, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import { missingBinaries } from '../dicom/peers.ts';
import { hubAe, imagingStudy, storescu, valleyFacility, writeStudy } from './dicom-support.ts';

setLogLevel('error');

const arrivingConfig = `${defaultTestConfig}dicom:
  enabled: true
  aeTitle: ${hubAe}
  studyQuietSeconds: 3600
`;

test.before('dcmtk is installed (CI: apt-get install -y dcmtk)', () => {
  const missing = missingBinaries(['storescu']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk`);
});

interface ListedExam {
  examNumber: string;
  studies: Array<{ studyInstanceUid: string; instanceCount?: number; seriesCount?: number }>;
}

test('an arriving study shows the same instance count in the work list as in ImagingStudy', async (t) => {
  const hub = await startHub({ config: arrivingConfig, facilities: [await valleyFacility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);

  const study = await writeStudy(5, { patientId: 'V777001', patientName: 'COUNT^CARLA', accessionNumber: 'ACC-C-1' });
  const listed = async (): Promise<ListedExam['studies'][number] | undefined> => {
    const exams = (await (await api(hub, '/api/facilities/VALLEYGEN/active')).json()) as ListedExam[];
    return exams.flatMap((exam) => exam.studies).find((s) => s.studyInstanceUid === study.studyInstanceUid);
  };

  t.is((await storescu(hub, 'VALLEY_CT', study.files.slice(0, 2))).code, 0);
  t.is((await imagingStudy(hub, study.studyInstanceUid))?.numberOfInstances, 2);
  t.like(await listed(), { instanceCount: 2, seriesCount: 1 });

  t.is((await storescu(hub, 'VALLEY_CT', study.files.slice(2))).code, 0);
  const fhirStudy = await imagingStudy(hub, study.studyInstanceUid);
  t.is(fhirStudy?.status, 'registered', 'the study is still arriving');
  t.is(fhirStudy?.numberOfInstances, 5);
  t.like(await listed(), { instanceCount: 5, seriesCount: 1 });
});
