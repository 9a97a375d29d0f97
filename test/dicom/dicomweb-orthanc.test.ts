// The hub's QIDO-RS beside Orthanc's DICOMweb plugin for the same study: the same client (dicomweb-client) asks
// both, and every attribute Orthanc answers at the study, series and instance level is in the hub's answer too,
// with the same value where both know it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { dicomTestConfig, storescu, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { adminToken, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';
import { type DicomJson, viewerClient } from './dicomweb-client.ts';
import { missingBinaries, removedAfterTests, startOrthanc } from './peers.ts';

const plugin = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const tempDir = removedAfterTests(test);
const missing = [...missingBinaries(['Orthanc', 'storescu']), ...(existsSync(plugin) ? [] : [plugin])];
const orthancTest = missing.length === 0 ? test : test.skip;
if (missing.length > 0) console.log(`skipping the Orthanc QIDO comparison: ${missing.join(', ')} not installed`);

/** Values compared as text: Orthanc answers IS counts as numbers or strings depending on its version. */
function valueText(element: DicomJson[string] | undefined): string {
  return JSON.stringify((element?.Value ?? []).map((v) => (typeof v === 'number' ? String(v) : v)));
}

/**
 * RetrieveURL differs by server, and so may the Specific Character Set: Orthanc names its default (ISO_IR 100),
 * the hub UTF-8 (ISO_IR 192); both answer JSON, which is UTF-8 whatever the attribute says. Everything else agrees.
 */
const ownValues = new Set(['00081190', '00080005']);

function compare(
  t: { deepEqual: (a: unknown, b: unknown, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void },
  level: string,
  hub: DicomJson,
  orthanc: DicomJson,
) {
  const absent = Object.keys(orthanc).filter((tag) => !(tag in hub));
  t.deepEqual(absent, [], `${level}: attributes Orthanc answers that the hub does not`);
  for (const tag of Object.keys(orthanc)) {
    if (ownValues.has(tag) || orthanc[tag]?.Value === undefined) continue;
    t.is(valueText(hub[tag]), valueText(orthanc[tag]), `${level} ${tag}`);
  }
}

orthancTest('a QIDO answer of the hub has every attribute Orthanc answers for the same study', async (t) => {
  const hub = await startHub({ config: dicomTestConfig, facilities: [await valleyFacility()] });
  t.teardown(() => void stopHub(hub));
  await waitHealthy(hub);
  const orthanc = await startOrthanc(await tempDir('orthanc-qido'), 'RSO_HUB', {
    plugins: [plugin],
    config: { DicomWeb: { Enable: true, Root: '/dicom-web/' } },
  });
  t.teardown(() => orthanc.stop());
  const study = await writeStudy(2, {
    patientId: 'QIDO-1',
    patientName: 'Doe^Jane',
    accessionNumber: 'ACC-QIDO',
    patientBirthDate: '19700101',
    patientSex: 'F',
    studyDescription: 'CT CHEST',
  });
  for (const file of study.files) {
    const response = await fetch(`http://127.0.0.1:${orthanc.httpPort}/instances`, {
      method: 'POST',
      body: await readFile(file),
    });
    t.is(response.status, 200);
  }
  t.is((await storescu(hub, 'VALLEY_CT', study.files)).code, 0);

  const hubClient = viewerClient(hub.url('/dicomweb'), adminToken);
  const orthancClient = viewerClient(`http://127.0.0.1:${orthanc.httpPort}/dicom-web`, 'none');
  const query = { queryParams: { PatientID: 'QIDO-1' } };
  const [hubStudy] = await hubClient.searchForStudies(query);
  const [orthancStudy] = await orthancClient.searchForStudies(query);
  t.truthy(orthancStudy);
  compare(t, 'study', hubStudy ?? {}, orthancStudy ?? {});

  const uids = { studyInstanceUID: study.studyInstanceUid };
  const [hubSeries] = await hubClient.searchForSeries(uids);
  const [orthancSeries] = await orthancClient.searchForSeries(uids);
  compare(t, 'series', hubSeries ?? {}, orthancSeries ?? {});

  const hubInstances = await hubClient.searchForInstances(uids);
  const orthancInstances = await orthancClient.searchForInstances(uids);
  t.is(hubInstances.length, orthancInstances.length);
  const bySop = (list: DicomJson[], uid: unknown) => list.find((i) => i['00080018']?.Value?.[0] === uid) ?? {};
  for (const instance of orthancInstances)
    compare(t, 'instance', bySop(hubInstances, instance['00080018']?.Value?.[0]), instance);
});
