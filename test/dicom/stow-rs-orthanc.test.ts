// Orthanc's DICOMweb plugin as a STOW-RS client of the real hub: a study Orthanc holds is sent to the hub's
// /dicomweb with the plugin's own multipart encoding (73-character `uuid-uuid` boundaries, longer than RFC 2046's
// 70) and a bearer token in its HttpHeaders, and arrives as an ImagingStudy.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import { dicomTestConfig, imagingStudy, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { missingBinaries, removedAfterTests, startOrthanc } from './peers.ts';

const plugin = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const tempDir = removedAfterTests(test);
// sha256 of "orthanc-stow-token": an integration token of Valley General, so uploads need no ?facility=.
const config = dicomTestConfig.replace(
  'auth:\n  tokens:\n',
  'auth:\n  tokens:\n    - name: orthanc\n      sha256: 74e45adb52e864f644ec6028a97b9804c8614c32c5c96ca58373c4457e9112db\n' +
    '      roles: [integration]\n      facilities: [VALLEYGEN]\n',
);

const missing = [...missingBinaries(['Orthanc']), ...(existsSync(plugin) ? [] : [plugin])];
const orthancTest = missing.length === 0 ? test : test.skip;
if (missing.length > 0)
  console.log(
    `skipping the Orthanc DICOMweb test: ${missing.join(', ')} not installed (apt-get install orthanc-dicomweb)`,
  );

orthancTest("Orthanc's DICOMweb client uploads a study to the hub by STOW-RS", async (t) => {
  const hub = await startHub({ config, facilities: [await valleyFacility()] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const orthanc = await startOrthanc(await tempDir('orthanc-stow'), 'RSO_HUB', {
    plugins: [plugin],
    config: {
      DicomWeb: {
        Enable: true,
        Servers: { hub: { Url: hub.url('/dicomweb/'), HttpHeaders: { Authorization: 'Bearer orthanc-stow-token' } } },
      },
    },
  });
  t.teardown(() => orthanc.stop());
  const study = await writeStudy(2, { patientId: 'V777001', accessionNumber: 'ACC-ORTHANC-1' });
  let orthancStudy = '';
  for (const file of study.files) {
    const response = await fetch(`http://127.0.0.1:${orthanc.httpPort}/instances`, {
      method: 'POST',
      body: await readFile(file),
    });
    t.is(response.status, 200);
    orthancStudy = ((await response.json()) as { ParentStudy: string }).ParentStudy;
  }

  const stow = await fetch(`http://127.0.0.1:${orthanc.httpPort}/dicom-web/servers/hub/stow`, {
    method: 'POST',
    body: JSON.stringify({ Resources: [orthancStudy] }),
  });
  t.is(stow.status, 200, await stow.text());

  const stored = await imagingStudy(hub, study.studyInstanceUid);
  t.is(stored?.numberOfInstances, 2);
  t.deepEqual(stored?.series?.[0]?.instance?.map((i) => i.uid).sort(), [...study.sopInstanceUids].sort());
});
