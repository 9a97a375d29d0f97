// The whole way of an SFTP upload: a technician puts a 20-file study with OpenSSH's sftp, the hub matches it to an
// exam of the account's facility and, after the quiet time, routes it to the facility's radiologist PACS (Orthanc,
// read through its REST API), as it does a study that came by C-STORE.
import path from 'node:path';
import test from 'ava';
import { missingBinaries, startOrthanc } from '../dicom/peers.ts';
import { hubAe, imagingStudy, orthancInstances, studiesToPacsChannel, writeStudy } from '../hub/dicom-support.ts';
import { until } from '../support/channels.ts';
import { stopHub, tempDir } from '../support/hub-process.ts';
import { sftp, startUploadHub } from './upload-support.ts';

test.before('Orthanc is installed (CI: apt-get install -y orthanc)', () => {
  const missing = missingBinaries(['Orthanc']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y orthanc`);
});

test('a 20-file study put over SFTP matches its exam and reaches the radiologist PACS', async (t) => {
  const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS' });
  t.teardown(() => orthanc.stop());
  const up = await startUploadHub({
    facility: { radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: orthanc.port } },
    channels: [studiesToPacsChannel()],
  });
  t.teardown(() => void stopHub(up.hub, 'SIGKILL'));
  const study = await writeStudy(20, {
    patientId: 'V-ROUTE-1',
    patientName: 'UPLOAD^ULLA',
    accessionNumber: 'ACC-U-1',
  });
  const result = await sftp(up, { user: 'tech1', key: true }, [`put ${path.dirname(study.files[0]!)}/*.dcm`]);
  t.is(result.code, 0, result.stderr);
  await until(
    async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 20,
    60_000,
    'twenty instances at Orthanc',
  );
  const arrived = await orthancInstances(orthanc, study.studyInstanceUid);
  t.deepEqual([...arrived.uids].sort(), [...study.sopInstanceUids].sort());
  const examNumber = (await imagingStudy(up.hub, study.studyInstanceUid))?.basedOn?.[0]?.reference?.replace(
    'ServiceRequest/',
    '',
  );
  t.truthy(examNumber);
  t.deepEqual(arrived.patientIds, [examNumber]);
});
