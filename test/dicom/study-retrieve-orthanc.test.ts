// Orthanc as a facility workstation that queries and retrieves from the hub (issue 17, item 4): Orthanc is
// configured with the hub as a remote modality, finds the facility's study by Study Root C-FIND through its REST
// API and pulls it by C-MOVE to itself, one of the facility's move destinations. Orthanc 1.10 (Debian) has no
// C-GET retrieve; getscu covers C-GET in study-move.test.ts.
import test from 'ava';
import { dicomTestConfig, orthancInstances, storescu, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { freePort, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { missingBinaries, type OrthancPeer, startOrthanc } from './peers.ts';

const missing = missingBinaries(['Orthanc', 'storescu']);
const peerTest = missing.length === 0 ? test.serial : test.skip;
let hub: HubProcess | undefined;
let orthanc: OrthancPeer | undefined;

test.after.always(async () => {
  if (hub) await stopHub(hub);
  await orthanc?.stop();
});

async function post<T>(peer: OrthancPeer, pathname: string, body: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${peer.httpPort}${pathname}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Orthanc ${pathname}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

peerTest('Orthanc finds its facility study by C-FIND and pulls it by C-MOVE, not another one', async (t) => {
  const ours = await writeStudy(4, { patientId: 'OR-1', patientName: 'QUERY^OLGA' });
  const theirs = await writeStudy(2, { patientId: 'OR-9', patientName: 'QUERY^OTTO' });
  const orthancPort = await freePort();
  const workstation = { aeTitle: 'VALLEY_WS', host: '127.0.0.1', port: orthancPort };
  hub = await startHub({
    config: dicomTestConfig,
    facilities: [
      await valleyFacility({ aeTitles: ['VALLEY_CT', 'VALLEY_WS'], moveDestinations: [workstation] }),
      await valleyFacility({ code: 'HILLSIDE', aeTitles: ['HILL_CT'], sendingFacilities: ['HILLSIDE'] }),
    ],
  });
  await waitHealthy(hub);
  t.is((await storescu(hub, 'VALLEY_CT', ours.files)).code, 0);
  t.is((await storescu(hub, 'HILL_CT', theirs.files)).code, 0);

  orthanc = await startOrthanc(await tempDir('orthanc-ws'), 'RSO_HUB', {
    aeTitle: 'VALLEY_WS',
    port: orthancPort,
    config: { DicomModalities: { hub: ['RSO_HUB', '127.0.0.1', hub.dicomPort] } },
  });

  const everything = await post<{ ID: string }>(orthanc, '/modalities/hub/query', {
    Level: 'Study',
    Query: { PatientID: 'OR-*', StudyInstanceUID: '' },
  });
  const answers = (await orthanc.get(`/queries/${everything.ID}/answers?expand`)) as Array<
    Record<string, { Value?: string }>
  >;
  const found = answers.map((answer) => answer['0020,000d']?.Value);
  t.deepEqual(found, [ours.studyInstanceUid], 'only the facility own study is answered');

  await post(orthanc, `/queries/${everything.ID}/retrieve`, { TargetAet: 'VALLEY_WS', Synchronous: true });
  const pulled = await orthancInstances(orthanc, ours.studyInstanceUid);
  t.deepEqual(pulled.uids.sort(), [...ours.sopInstanceUids].sort());
  t.deepEqual((await orthancInstances(orthanc, theirs.studyInstanceUid)).uids, []);
});
