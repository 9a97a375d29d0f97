// FTPS (explicit TLS, RFC 4217) with curl and lftp as the technicians' clients: a study uploaded with TLS required
// lands on an exam, a plain-FTP login is refused before any password is sent, a file that is not DICOM fails
// with the hub's reason in the 550 reply, a wrong password is refused, and jail escapes are refused.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { imagingStudy, writeStudy } from '../hub/dicom-support.ts';
import { stopHub } from '../support/hub-process.ts';
import { password, startUploadHub, tool, type UploadHub } from './upload-support.ts';

let up: UploadHub;

test.before(async () => {
  up = await startUploadHub();
});

test.after.always(async () => {
  if (up) await stopHub(up.hub, 'SIGKILL');
});

function curl(file: string, target: string, extra: string[] = [], user = `tech1:${password}`) {
  return tool('curl', [
    '--silent',
    '--show-error',
    '--ssl-reqd',
    '--cacert',
    up.certFile,
    '--user',
    user,
    ...extra,
    '-T',
    file,
    `ftp://127.0.0.1:${up.ftpsPort}${target}`,
  ]);
}

async function instances(studyInstanceUid: string, count: number): Promise<number | undefined> {
  for (let i = 0; i < 100; i++) {
    const study = await imagingStudy(up.hub, studyInstanceUid);
    if (study?.numberOfInstances === count) return count;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (await imagingStudy(up.hub, studyInstanceUid))?.numberOfInstances;
}

test.serial('curl --ssl-reqd uploads a study, which lands on an exam', async (t) => {
  const study = await writeStudy(2, { patientId: 'V-FTPS-1', accessionNumber: 'ACC-FTPS-1' });
  for (const file of study.files) {
    const result = await curl(file, '/');
    t.is(result.code, 0, result.stderr);
  }
  t.is(await instances(study.studyInstanceUid, 2), 2);
  t.deepEqual(await readdir(path.join(up.uploadDir, 'tech1')), []);
});

test.serial('lftp with ftp:ssl-force uploads into a folder it makes', async (t) => {
  const study = await writeStudy(2, { patientId: 'V-FTPS-2' });
  const commands = [
    'set ftp:ssl-force true',
    'set ftp:ssl-protect-data true',
    `set ssl:ca-file ${up.certFile}`,
    'mkdir mr',
    'cd mr',
    ...study.files.map((f) => `put ${f}`),
    'bye',
  ].join('; ');
  const result = await tool('lftp', [
    '-u',
    `tech1,${password}`,
    '-p',
    String(up.ftpsPort),
    '-e',
    commands,
    '127.0.0.1',
  ]);
  t.is(result.code, 0, result.stderr);
  t.is(await instances(study.studyInstanceUid, 2), 2);
});

test.serial('a plain FTP login is refused before the password is sent', async (t) => {
  const study = await writeStudy(1, { patientId: 'V-FTPS-3' });
  const result = await tool('curl', [
    '--silent',
    '--show-error',
    '--user',
    `tech1:${password}`,
    '-T',
    study.files[0]!,
    `ftp://127.0.0.1:${up.ftpsPort}/`,
  ]);
  t.not(result.code, 0);
  t.regex(result.stderr, /530|denied/i);
  t.is(await imagingStudy(up.hub, study.studyInstanceUid), undefined);
});

test.serial('a file that is not DICOM fails with the reason in the reply', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-ftps-other-'));
  const file = path.join(dir, 'report.pdf');
  await writeFile(file, '%PDF-1.4 not an image');
  const result = await curl(file, '/', ['--verbose']);
  t.not(result.code, 0);
  t.regex(result.stderr, /550 .*not a DICOM Part-10 file/);
  const kept = await readdir(path.join(up.uploadDir, '.errors', 'tech1'));
  t.true(kept.some((name) => name.endsWith('report.pdf')));
  t.true(kept.some((name) => name.endsWith('report.pdf.reason.txt')));
});

test.serial('paths out of the account folder are refused', async (t) => {
  const study = await writeStudy(1, { patientId: 'V-FTPS-4' });
  const climbed = await curl(study.files[0]!, '/%2E%2E/escape.dcm', ['--ftp-create-dirs']);
  t.not(climbed.code, 0);
  const quoted = await tool('curl', [
    '--silent',
    '--show-error',
    '--ssl-reqd',
    '--cacert',
    up.certFile,
    '--user',
    `tech1:${password}`,
    '-Q',
    'CWD ../..',
    '-T',
    study.files[0]!,
    `ftp://127.0.0.1:${up.ftpsPort}/`,
  ]);
  t.not(quoted.code, 0);
  t.deepEqual(
    (await readdir(path.dirname(up.uploadDir))).filter((n) => n.includes('escape')),
    [],
  );
  t.is(await imagingStudy(up.hub, study.studyInstanceUid), undefined);
});

test.serial('wrong passwords are refused and lock the account for that address', async (t) => {
  const study = await writeStudy(1, { patientId: 'V-FTPS-5' });
  for (let i = 0; i < 3; i++) {
    const wrong = await curl(study.files[0]!, '/', [], `tech2:wrong-${i}`);
    t.not(wrong.code, 0);
    t.regex(wrong.stderr, /530|denied/i);
  }
  const locked = await curl(study.files[0]!, '/', ['--verbose'], `tech2:${password}`);
  t.not(locked.code, 0);
  t.regex(locked.stderr, /too many failed logins/);
});

test.serial(
  'SIGTERM stops the hub in order with both upload listeners open (ftp-srv does not exit it first)',
  async (t) => {
    t.is(await stopHub(up.hub, 'SIGTERM'), 0);
    // ftp-srv's own SIGTERM handler would have ended the process before the hub logs its orderly stop.
    t.regex(up.hub.stdout(), /"msg":"stopped".*"clean":true/);
  },
);
