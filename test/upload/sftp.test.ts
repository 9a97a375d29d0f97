// Technicians upload studies over SFTP with OpenSSH's own sftp client (batch mode, the host key checked against a
// known_hosts line written from the key the hub generated): single files and a ZIP become instances on an exam,
// a file that is not DICOM fails its `put` and waits in the error folder with its reason, a ZIP with a `../` entry
// is refused whole, paths out of the account's folder are refused, and wrong passwords lock the account.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { imagingStudy, writeStudy } from '../hub/dicom-support.ts';
import { api, stopHub } from '../support/hub-process.ts';
import { password, sftp, startUploadHub, type UploadHub } from './upload-support.ts';

const run = promisify(execFile);
let up: UploadHub;

test.before(async () => {
  up = await startUploadHub();
});

test.after.always(async () => {
  if (up) await stopHub(up.hub, 'SIGKILL');
});

async function studyWith(studyInstanceUid: string, instances: number): Promise<ImagingStudy | undefined> {
  for (let i = 0; i < 100; i++) {
    const study = await imagingStudy(up.hub, studyInstanceUid);
    if (study?.numberOfInstances === instances) return study;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return imagingStudy(up.hub, studyInstanceUid);
}

interface UploadView {
  user: string;
  fileName: string;
  outcome: string;
  stored: number;
  reason?: string;
  errorFile?: string;
  protocol: string;
}

async function uploads(query = ''): Promise<UploadView[]> {
  const response = await api(up.hub, `/api/uploads${query}`);
  if (!response.ok) throw new Error(`/api/uploads: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { uploads: UploadView[] }).uploads;
}

test.serial(
  'a study put file by file with a public key lands on an exam, and the upload log lists each file',
  async (t) => {
    const study = await writeStudy(3, { patientId: 'V-SFTP-1', accessionNumber: 'ACC-SFTP-1' });
    const result = await sftp(up, { user: 'tech1', key: true }, [
      'mkdir ct',
      'cd ct',
      ...study.files.map((f) => `put ${f}`),
    ]);
    t.is(result.code, 0, result.stderr);
    const fhir = await studyWith(study.studyInstanceUid, 3);
    t.is(fhir?.numberOfInstances, 3);
    const logged = (await uploads('?user=tech1')).filter((u) => u.fileName.startsWith('/ct/'));
    t.is(logged.length, 3);
    t.true(logged.every((u) => u.outcome === 'stored' && u.stored === 1 && u.protocol === 'sftp'));
    // Processed files leave the account's folder: what is there is what has not arrived.
    t.deepEqual(await readdir(path.join(up.uploadDir, 'tech1', 'ct')), []);
  },
);

test.serial('a ZIP of a study made with Info-ZIP, put with a password, gives every instance', async (t) => {
  const study = await writeStudy(4, { patientId: 'V-SFTP-2', accessionNumber: 'ACC-SFTP-2' });
  const zip = path.join(path.dirname(study.files[0]!), 'study.zip');
  await run('zip', ['-q', '-r', zip, '.'], { cwd: path.dirname(study.files[0]!) });
  const result = await sftp(up, { user: 'tech1', password }, [`put ${zip}`]);
  t.is(result.code, 0, result.stderr);
  t.is((await studyWith(study.studyInstanceUid, 4))?.numberOfInstances, 4);
  const [logged] = await uploads('?user=tech1&limit=1');
  t.like(logged, { fileName: '/study.zip', outcome: 'stored', stored: 4 });
});

test.serial('a file that is not DICOM fails its put and waits in the error folder beside its reason', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-upload-other-'));
  const file = path.join(dir, 'notes.txt');
  await writeFile(file, 'these are not images\n');
  const result = await sftp(up, { user: 'tech1', key: true }, [`put ${file}`]);
  t.not(result.code, 0);
  t.regex(result.stderr, /Failure/);
  const [logged] = await uploads('?outcome=refused&limit=1');
  t.is(logged?.fileName, '/notes.txt');
  t.regex(logged?.reason ?? '', /not a DICOM Part-10 file/);
  t.is(await readFile(logged!.errorFile!, 'utf8'), 'these are not images\n');
  t.regex(await readFile(`${logged!.errorFile!}.reason.txt`, 'utf8'), /not a DICOM Part-10 file/);
});

test.serial('a ZIP with a ../ entry is refused whole: not even its good entries are stored', async (t) => {
  const good = await writeStudy(1, { patientId: 'V-SFTP-3' });
  const bad = await writeStudy(1, { patientId: 'V-SFTP-3' });
  const zip = path.join(path.dirname(good.files[0]!), 'evil.zip');
  // Python's zipfile writes the name as given; Info-ZIP would strip the ../.
  const script = `import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.write(sys.argv[2],'ok.dcm')\nz.write(sys.argv[3],'../escape.dcm')\nz.close()`;
  await run('python3', ['-c', script, zip, good.files[0]!, bad.files[0]!]);
  const result = await sftp(up, { user: 'tech1', key: true }, [`put ${zip}`]);
  t.not(result.code, 0);
  const [logged] = await uploads('?user=tech1&limit=1');
  t.like(logged, { fileName: '/evil.zip', outcome: 'refused', stored: 0 });
  t.regex(logged?.reason ?? '', /refused whole: entry "\.\.\/escape\.dcm" climbs out/);
  t.is(await imagingStudy(up.hub, good.studyInstanceUid), undefined);
  t.is(await imagingStudy(up.hub, bad.studyInstanceUid), undefined);
});

test.serial(
  'paths out of the account folder are refused: ../, absolute host paths and a planted symlink',
  async (t) => {
    const study = await writeStudy(1, { patientId: 'V-SFTP-4' });
    const outside = await mkdtemp(path.join(os.tmpdir(), 'rso-upload-outside-'));
    await symlink(outside, path.join(up.uploadDir, 'tech1', 'link'));
    const file = study.files[0]!;
    const result = await sftp(up, { user: 'tech1', key: true }, [
      `-put ${file} ../escape.dcm`,
      `-put ${file} /../../escape.dcm`,
      `-put ${file} ${outside}/abs.dcm`,
      `-put ${file} link/through.dcm`,
      '-cd link',
      '-ls /link',
      '-cd ..',
      'pwd',
    ]);
    t.is(result.code, 0, result.stderr);
    t.regex(result.stderr, /Permission denied/);
    t.regex(result.stdout, /Remote working directory: \/\n/);
    t.deepEqual(await readdir(outside), []);
    await t.throwsAsync(stat(path.join(up.uploadDir, 'escape.dcm')));
    await t.throwsAsync(stat(path.join(path.dirname(up.uploadDir), 'escape.dcm')));
    t.is(await imagingStudy(up.hub, study.studyInstanceUid), undefined);
  },
);

test.serial('a wrong password is refused, and after three the right one is refused too (locked)', async (t) => {
  for (let i = 0; i < 3; i++) {
    const wrong = await sftp(up, { user: 'tech2', password: `wrong-${i}` }, ['pwd']);
    t.not(wrong.code, 0);
    t.regex(wrong.stderr, /Permission denied/);
  }
  const locked = await sftp(up, { user: 'tech2', password }, ['pwd']);
  t.not(locked.code, 0);
  t.regex(up.hub.stdout(), /upload login refused: locked/);
  // The lock is per user and address: tech1 still logs in from the same address.
  t.is((await sftp(up, { user: 'tech1', password }, ['pwd'])).code, 0);
});

test.serial('the host key was made on first start, readable by the hub alone', async (t) => {
  const key = await stat(path.join(up.hub.dataDir, 'upload', 'ssh_host_ecdsa_key'));
  t.is(key.mode & 0o777, 0o600);
});
