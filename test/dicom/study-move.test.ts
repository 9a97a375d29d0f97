// Study Root C-MOVE and C-GET through the real hub: studies sent by storescu, pulled with dcmtk's `movescu -S` to
// the facility's move destinations (dcmtk's storescp, and SCPs that refuse or are slow), at the study, series and
// image levels, and with `getscu -S` back over the caller's own association; another facility's study is not
// found, an unlisted destination is refused, a cancel stops it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DicomScp } from '../../dicom/scp.ts';
import { dicomTestConfig, hubAe, refusingPacs, storescu, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { freePort, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { datasetOf, uid } from './make-instance.ts';
import { missingBinaries, type Peer, runTool, startStorescp } from './peers.ts';

const missing = missingBinaries(['movescu', 'storescu', 'storescp']);
const dcmtkTest = missing.length === 0 ? test.serial : test.skip;
let hub: HubProcess | undefined;
let storescp: Peer | undefined;
let received = '';

test.after.always(async () => {
  if (hub) await stopHub(hub);
  await storescp?.stop();
});

async function movescu(callingAe: string, destination: string, keys: string[], extra: string[] = []) {
  const verbosity = extra.includes('-d') ? [] : ['-v'];
  const args = [...verbosity, '-S', '-aet', callingAe, '-aec', hubAe, '-aem', destination, ...extra];
  const result = await runTool('movescu', [
    ...args,
    ...keys.flatMap((k) => ['-k', k]),
    '127.0.0.1',
    String(hub!.dicomPort),
  ]);
  return { ...result, log: `${result.stdout}${result.stderr}` };
}

/** SOP Instance UIDs storescp wrote (it names files <modality>.<SOP Instance UID>). */
async function atStorescp(): Promise<string[]> {
  return (await readdir(received)).map((name) => name.replace(/^[A-Z]+\./, '')).sort();
}

/** An SCP of our own that takes its time over each instance, so a cancel has something to stop. */
async function slowPacs(t: ExecutionContext, aeTitle: string) {
  const stored: string[] = [];
  const pacs = new DicomScp({
    aeTitle,
    host: '127.0.0.1',
    port: 0,
    storageDir: await tempDir('slow-pacs'),
    syncStorage: false,
    isKnownCallingAe: () => true,
    onInstanceStored: async (instance) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      stored.push(instance.sopInstanceUid);
    },
  });
  await pacs.start();
  t.teardown(() => pacs.stop());
  return { pacs, stored };
}

const studyA = writeStudy(3, { patientId: 'MV-1', patientName: 'MOVE^ANNA' });
const seriesA2 = uid();
const seriesB = uid();
const studyA2 = writeStudy(2, { patientId: 'MV-1', patientName: 'MOVE^ANNA', seriesInstanceUid: seriesA2 });
const studyB = writeStudy(2, { patientId: 'MV-9', patientName: 'MOVE^CARL', seriesInstanceUid: seriesB });

test.before(async () => {
  if (missing.length > 0) return;
  received = await tempDir('move-storescp');
  storescp = await startStorescp(received);
});

dcmtkTest('a workstation pulls its facility study, a series of it and one instance to its storescp', async (t) => {
  const [a, a2, b] = [await studyA, await studyA2, await studyB];
  // Two series of one study: the second written with the first's study UID.
  const second = await writeStudy(2, { studyInstanceUid: a.studyInstanceUid, seriesInstanceUid: uid() });
  const refuser = await refusingPacs(t, 'REFUSER', (sop) => sop === a.sopInstanceUids[1]);
  const slow = await slowPacs(t, 'SLOW_WS');
  const down = await freePort();
  const destinations = [
    { aeTitle: 'STORESCP', host: '127.0.0.1', port: storescp!.port },
    { aeTitle: 'REFUSER', host: '127.0.0.1', port: refuser.pacs.port },
    { aeTitle: 'SLOW_WS', host: '127.0.0.1', port: slow.pacs.port },
    { aeTitle: 'DOWN_WS', host: '127.0.0.1', port: down },
  ];
  const hillside = await valleyFacility({
    code: 'HILLSIDE',
    aeTitles: ['HILL_CT'],
    sendingFacilities: ['HILLSIDE'],
    moveDestinations: destinations,
  });
  hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility({ moveDestinations: destinations }), hillside],
  });
  await waitHealthy(hub);
  t.is((await storescu(hub, 'VALLEY_CT', [...a.files, ...second.files, ...a2.files])).code, 0);
  t.is((await storescu(hub, 'HILL_CT', b.files)).code, 0);

  const study = await movescu('VALLEY_CT', 'STORESCP', [
    'QueryRetrieveLevel=STUDY',
    `StudyInstanceUID=${a.studyInstanceUid}`,
  ]);
  t.is(study.code, 0, study.log);
  t.deepEqual(await atStorescp(), [...a.sopInstanceUids, ...second.sopInstanceUids].sort());

  const series = await movescu('VALLEY_CT', 'STORESCP', [
    'QueryRetrieveLevel=SERIES',
    `StudyInstanceUID=${a2.studyInstanceUid}`,
    `SeriesInstanceUID=${seriesA2}`,
  ]);
  t.is(series.code, 0, series.log);
  t.true((await atStorescp()).includes(a2.sopInstanceUids[0]!), 'the series arrived');

  // Another facility's study is not there for this AE: zero sub-operations, nothing sent.
  const before = (await atStorescp()).length;
  const theirs = await movescu('VALLEY_CT', 'STORESCP', [
    'QueryRetrieveLevel=STUDY',
    `StudyInstanceUID=${b.studyInstanceUid}`,
  ]);
  t.is(theirs.code, 0, theirs.log);
  t.is((await atStorescp()).length, before);

  const unknown = await movescu('VALLEY_CT', 'NOWHERE', [
    'QueryRetrieveLevel=STUDY',
    `StudyInstanceUID=${a.studyInstanceUid}`,
  ]);
  t.regex(unknown.log, /MoveDestinationUnknown|a801/i);
  const noUid = await movescu('VALLEY_CT', 'STORESCP', ['QueryRetrieveLevel=STUDY']);
  t.regex(noUid.log, /DataSetDoesNotMatchSOPClass|a900/i);

  // One instance refused by the destination: warning B000 naming it; the others arrive.
  const refused = await movescu(
    'VALLEY_CT',
    'REFUSER',
    ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${a.studyInstanceUid}`],
    ['-d'],
  );
  t.regex(refused.log, /SubOperationsCompleteOneOrMoreFailures|b000/i);
  t.regex(
    refused.log,
    new RegExp(`FailedSOPInstanceUIDList|\\(0008,0058\\).*${a.sopInstanceUids[1]!.replace(/\./g, '\\.')}`),
  );
  t.is(refuser.received.length, 5);

  const downMove = await movescu('VALLEY_CT', 'DOWN_WS', [
    'QueryRetrieveLevel=STUDY',
    `StudyInstanceUID=${a.studyInstanceUid}`,
  ]);
  t.regex(downMove.log, /OutOfResourcesSubOperations|a702/i);

  // Cancelled after the first pending response: the move stops short.
  const cancelled = await movescu(
    'VALLEY_CT',
    'SLOW_WS',
    ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${a.studyInstanceUid}`],
    ['--cancel', '1'],
  );
  t.regex(cancelled.log, /Final Move Response \(Cancel/);
  t.true(slow.stored.length < 5, `stored ${slow.stored.length} of 5 after the cancel`);

  const image = await movescu('HILL_CT', 'STORESCP', [
    'QueryRetrieveLevel=IMAGE',
    `StudyInstanceUID=${b.studyInstanceUid}`,
    `SeriesInstanceUID=${seriesB}`,
    `SOPInstanceUID=${b.sopInstanceUids[1]}`,
  ]);
  t.is(image.code, 0, image.log);
  t.true((await atStorescp()).includes(b.sopInstanceUids[1]!));
  t.false((await atStorescp()).includes(b.sopInstanceUids[0]!));

  // C-GET: the same study comes back over getscu's own association, byte for byte what C-MOVE sent to storescp
  // (both as the hub stored it: the facility's PatientID coercion changed it from what storescu sent).
  const got = await tempDir('getscu');
  const get = await runTool('getscu', [
    '-v',
    '-S',
    '-aet',
    'VALLEY_CT',
    '-aec',
    hubAe,
    '+B',
    '-od',
    got,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${a.studyInstanceUid}`,
    '127.0.0.1',
    String(hub.dicomPort),
  ]);
  t.is(get.code, 0, `${get.stdout}${get.stderr}`);
  const gotUids = (await readdir(got)).map((name) => name.replace(/^[A-Z]+\./, '')).sort();
  t.deepEqual(gotUids, [...a.sopInstanceUids, ...second.sopInstanceUids].sort());
  const first = (await readdir(got)).find((name) => name.endsWith(a.sopInstanceUids[0]!));
  t.deepEqual(
    datasetOf(await readFile(path.join(got, first!)), 'got'),
    datasetOf(await readFile(path.join(received, `CT.${a.sopInstanceUids[0]}`)), 'moved'),
    'the data set comes back as it was sent',
  );
  const elsewhere = await tempDir('getscu-theirs');
  const theirsByGet = await runTool('getscu', [
    '-S',
    '-aet',
    'HILL_CT',
    '-aec',
    hubAe,
    '-od',
    elsewhere,
    '-k',
    'QueryRetrieveLevel=STUDY',
    '-k',
    `StudyInstanceUID=${a.studyInstanceUid}`,
    '127.0.0.1',
    String(hub.dicomPort),
  ]);
  t.is(theirsByGet.code, 0);
  t.deepEqual(await readdir(elsewhere), [], "another facility's AE gets nothing of this study");
});
