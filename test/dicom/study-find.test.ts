// Study Root C-FIND at the study level through the real hub: studies sent by storescu, found with dcmtk's
// `findscu -S`, only the calling AE's facility's, with the keys asked for.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import dcmjs from 'dcmjs';
import { dicomTestConfig, hubAe, storescu, valleyFacility, writeStudy } from '../hub/dicom-support.ts';
import { startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { missingBinaries, runTool, type CommandResult } from './peers.ts';

const missing = missingBinaries(['findscu', 'storescu']);
const dcmtkTest = missing.length === 0 ? test : test.skip;
let hub: HubProcess | undefined;

test.after.always(async () => {
  if (hub) await stopHub(hub);
});

type Answer = Record<string, { Value?: unknown[] }>;

async function findscu(ae: string, keys: string[]): Promise<{ result: CommandResult; answers: Answer[] }> {
  const out = await tempDir('study-find');
  await mkdir(out, { recursive: true });
  const args = ['-v', '-S', '-X', '-od', out, '-aet', ae, '-aec', hubAe, ...keys.flatMap((k) => ['-k', k])];
  const result = await runTool('findscu', [...args, '127.0.0.1', String(hub!.dicomPort)]);
  const answers: Answer[] = [];
  for (const name of (await readdir(out)).sort()) {
    const bytes = await readFile(path.join(out, name));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    answers.push(dcmjs.data.DicomMessage.readFile(buffer).dict);
  }
  return { result, answers };
}

const value = (answer: Answer | undefined, tag: string): unknown => answer?.[tag]?.Value?.[0];

dcmtkTest('a workstation finds its facility studies by Study Root C-FIND', async (t) => {
  const hillside = await valleyFacility({ code: 'HILLSIDE', aeTitles: ['HILL_CT'], sendingFacilities: ['HILLSIDE'] });
  hub = await startHub({ config: dicomTestConfig, facilities: [await valleyFacility(), hillside] });
  await waitHealthy(hub);
  const ours = await writeStudy(2, { patientId: 'SF-1', patientName: 'FIND^ANNA', accessionNumber: 'ACC-SF-1' });
  const older = await writeStudy(1, { patientId: 'SF-2', patientName: 'FIND^BERT', studyDate: '20230101' });
  const theirs = await writeStudy(1, { patientId: 'SF-9', patientName: 'FIND^CARL' });
  t.is((await storescu(hub, 'VALLEY_CT', [...ours.files, ...older.files])).code, 0);
  t.is((await storescu(hub, 'HILL_CT', theirs.files)).code, 0);

  const keys = ['QueryRetrieveLevel=STUDY', 'PatientName=find*', 'PatientID', 'StudyInstanceUID', 'AccessionNumber'];
  const all = await findscu('VALLEY_CT', [...keys, 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances']);
  t.is(all.result.code, 0, all.result.stderr);
  t.deepEqual(
    all.answers.map((a) => value(a, '0020000D')).sort(),
    [ours.studyInstanceUid, older.studyInstanceUid].sort(),
  );
  const anna = all.answers.find((a) => value(a, '00100020') === 'SF-1');
  t.is(value(anna, '00080050'), 'ACC-SF-1');
  t.is(value(anna, '00080061'), 'CT');
  t.is(Number(value(anna, '00201208')), 2);
  t.is(anna?.['00100030'], undefined, 'a key not asked for is not answered');

  const recent = await findscu('VALLEY_CT', ['QueryRetrieveLevel=STUDY', 'StudyDate=20240101-', 'StudyInstanceUID']);
  t.deepEqual(
    recent.answers.map((a) => value(a, '0020000D')),
    [ours.studyInstanceUid],
  );

  const series = await findscu('VALLEY_CT', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${ours.studyInstanceUid}`]);
  t.regex(`${series.result.stdout}${series.result.stderr}`, /DataSetDoesNotMatchSOPClass/);
  const badDate = await findscu('VALLEY_CT', ['QueryRetrieveLevel=STUDY', 'StudyDate=2024-01-01']);
  t.regex(`${badDate.result.stdout}${badDate.result.stderr}`, /DataSetDoesNotMatchSOPClass/);
});
