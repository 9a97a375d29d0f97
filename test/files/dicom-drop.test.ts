// DICOM folder drops in the real hub process (dcm4chee's folder import, Mirth's File Reader): Part-10 files dropped
// in a watched folder take the same ingest as C-STORE and STOW-RS for the facility the source names, match their
// exam, and the complete study routes on to the facility's PACS (Orthanc); each file moves to done/ only after its
// instance is stored. A file that is not DICOM, a broken one and one of a wrong facility go to error/ with a reason.
import { copyFile, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { missingBinaries, startOrthanc } from '../dicom/peers.ts';
import {
  dicomTestConfig,
  hubAe,
  imagingStudy,
  orthancInstances,
  studiesToPacsChannel,
  valleyFacility,
  writeStudy,
} from '../hub/dicom-support.ts';
import { until } from '../support/channels.ts';
import { api, startHub, stopHub, tempDir, waitHealthy } from '../support/hub-process.ts';

test.before('Orthanc is installed (CI: apt-get install -y orthanc)', () => {
  const missing = missingBinaries(['Orthanc']);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y orthanc`);
});

function dicomDropChannel(dir: string, settings: Record<string, unknown> = {}) {
  return {
    id: 'image-drops',
    name: 'DICOM folder import',
    enabled: true,
    source: { type: 'file-drop', settings: { directory: dir, pollMs: 100, stableMs: 200, ...settings } },
    destinations: [],
  };
}

/** Copied in under a dot name and renamed, as a well-behaved sender does; the drop ignores dot files. */
async function drop(dir: string, from: string, name: string): Promise<void> {
  await copyFile(from, path.join(dir, `.${name}.part`));
  await rename(path.join(dir, `.${name}.part`), path.join(dir, name));
}

interface UploadView {
  user: string;
  protocol: string;
  outcome: string;
  stored: number;
  fileName: string;
  reason?: string;
}

test.serial(
  'a 20-file study dropped in a watched folder matches its exam and reaches the radiologist PACS',
  async (t) => {
    const orthanc = await startOrthanc(await tempDir('orthanc'), hubAe, { aeTitle: 'RSO_PACS' });
    t.teardown(() => orthanc.stop());
    const dir = await tempDir('dicom-drop');
    const hub = await startHub({
      config: dicomTestConfig,
      facilities: [
        await valleyFacility({ radiologistPacs: { aeTitle: 'RSO_PACS', host: '127.0.0.1', port: orthanc.port } }),
      ],
      channels: [dicomDropChannel(dir, { facility: 'VALLEYGEN' }), studiesToPacsChannel()],
    });
    t.teardown(() => void stopHub(hub, 'SIGKILL'));
    await waitHealthy(hub);
    const study = await writeStudy(20, { patientId: 'V-DROP-1', patientName: 'DROP^DORA', accessionNumber: 'ACC-D-1' });
    // Names without an extension, as modalities write them: the content decides, not the name.
    for (const [i, file] of study.files.entries()) await drop(dir, file, `IM${String(i).padStart(4, '0')}`);
    await until(
      async () => (await orthancInstances(orthanc, study.studyInstanceUid)).uids.length === 20,
      90_000,
      'twenty instances at Orthanc',
    );
    const arrived = await orthancInstances(orthanc, study.studyInstanceUid);
    t.deepEqual([...arrived.uids].sort(), [...study.sopInstanceUids].sort());
    const examNumber = (await imagingStudy(hub, study.studyInstanceUid))?.basedOn?.[0]?.reference?.replace(
      'ServiceRequest/',
      '',
    );
    t.truthy(examNumber);
    t.deepEqual(arrived.patientIds, [examNumber]);
    await until(async () => (await readdir(path.join(dir, 'done'))).length === 20, 30_000, 'twenty files in done/');
    t.deepEqual(await readdir(path.join(dir, 'error')), []);
    t.deepEqual(await readdir(path.join(dir, '.processing')), []);
    // The originals are kept in done/ byte for byte; the study store holds its own copies.
    t.deepEqual(await readFile(path.join(dir, 'done', 'IM0000')), await readFile(study.files[0]!));
    const uploads = (await (await api(hub, '/api/uploads?user=channel:image-drops')).json()) as {
      uploads: UploadView[];
    };
    t.is(uploads.uploads.length, 20);
    t.true(uploads.uploads.every((u) => u.protocol === 'file-drop' && u.outcome === 'stored' && u.stored === 1));
  },
);

test.serial('a file that is not DICOM, a broken one and a foreign study go to error/ with their reasons', async (t) => {
  const dir = await tempDir('dicom-drop');
  const otherDir = await tempDir('dicom-drop-other');
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [
      await valleyFacility(),
      { code: 'HILLSIDE', name: 'Hillside', aeTitles: ['HILLSIDE_CT'], sendingFacilities: ['HILLSIDE'] },
    ],
    channels: [
      dicomDropChannel(dir, { facility: 'VALLEYGEN', pattern: '*.dcm' }),
      { ...dicomDropChannel(otherDir, { facility: 'HILLSIDE' }), id: 'other-drops' },
    ],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const study = await writeStudy(2, { patientId: 'V-DROP-2', patientName: 'DROP^DIRK' });
  await drop(dir, study.files[0]!, 'good.dcm');
  await until(async () => (await readdir(path.join(dir, 'done'))).includes('good.dcm'), 30_000, 'good.dcm done');
  // A "DICM" file cut short: its pixel data ends before the length its header gives.
  const whole = await readFile(study.files[1]!);
  const scratch = await tempDir('scratch');
  await writeFile(path.join(scratch, 'cut.dcm'), whole.subarray(0, whole.length - 1000));
  await writeFile(path.join(scratch, 'notes.dcm'), 'this is a letter, not an image\n');
  await drop(dir, path.join(scratch, 'cut.dcm'), 'cut.dcm');
  // Another facility's folder receiving an instance of Valley General's study.
  await drop(otherDir, study.files[1]!, 'foreign.dcm');
  await until(async () => (await readdir(path.join(dir, 'error'))).includes('cut.dcm'), 30_000, 'cut.dcm refused');
  await until(
    async () => (await readdir(path.join(otherDir, 'error'))).includes('foreign.dcm'),
    30_000,
    'foreign.dcm refused',
  );
  const cutReason = await readFile(path.join(dir, 'error', 'cut.dcm.reason.txt'), 'utf8');
  t.regex(cutReason, /cut\.dcm/);
  t.deepEqual(await readFile(path.join(dir, 'error', 'cut.dcm')), whole.subarray(0, whole.length - 1000));
  t.regex(await readFile(path.join(otherDir, 'error', 'foreign.dcm.reason.txt'), 'utf8'), /another facility/);
  // An HL7 reader on a folder of images: notes.dcm is read as HL7 and refused for having no MSH.
  await drop(dir, path.join(scratch, 'notes.dcm'), 'notes.dcm');
  await until(async () => (await readdir(path.join(dir, 'error'))).includes('notes.dcm'), 30_000, 'notes.dcm refused');
  t.regex(await readFile(path.join(dir, 'error', 'notes.dcm.reason.txt'), 'utf8'), /no HL7 message|before any MSH/);
  t.deepEqual(await readdir(path.join(dir, 'done')), ['good.dcm']);
  const refused = (await (await api(hub, '/api/uploads?outcome=refused')).json()) as { uploads: UploadView[] };
  t.deepEqual(refused.uploads.map((u) => u.fileName).sort(), ['cut.dcm', 'foreign.dcm']);
});

test.serial('a DICOM file in a folder whose source names no facility is refused with the setting to add', async (t) => {
  const dir = await tempDir('dicom-drop');
  const hub = await startHub({
    config: dicomTestConfig,
    facilities: [await valleyFacility()],
    channels: [dicomDropChannel(dir)],
  });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  const study = await writeStudy(1, { patientId: 'V-DROP-3' });
  await drop(dir, study.files[0]!, 'orphan.dcm');
  await until(
    async () => (await readdir(path.join(dir, 'error'))).includes('orphan.dcm'),
    30_000,
    'orphan.dcm refused',
  );
  t.regex(await readFile(path.join(dir, 'error', 'orphan.dcm.reason.txt'), 'utf8'), /source\.settings\.facility/);
});
