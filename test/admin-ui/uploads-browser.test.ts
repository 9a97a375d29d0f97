// The technician's view of what arrived as files, in Debian's Chromium against a real hub process: a study file put
// with OpenSSH's sftp and a letter refused for not being DICOM show up under Uploads with their results and the
// reason; the technician sees their facility's files only (another facility's log is refused by the API). The
// screenshot lands in artifacts/console/uploads-technician.png. The 401 each page shows is the session check
// before signing in.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { writeStudy } from '../hub/dicom-support.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { api, stopHub, tempDir } from '../support/hub-process.ts';
import { sftp, startUploadHub } from '../upload/upload-support.ts';

const password = 'first password of the user';
const newPassword = 'the password I chose myself';

test('a technician sees the files put over SFTP under Uploads, each with its result', async (t) => {
  const up = await startUploadHub();
  t.teardown(() => void stopHub(up.hub, 'SIGKILL'));
  const study = await writeStudy(1, { patientId: 'V-UI-1', patientName: 'UPLOAD^UMA' });
  const letter = path.join(await tempDir('letter'), 'letter.txt');
  await writeFile(letter, 'a letter, not an image\n');
  const put = await sftp(up, { user: 'tech1', key: true }, [`put ${study.files[0]}`, `-put ${letter}`]);
  t.is(put.code, 0, put.stderr);
  const created = await api(up.hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({
      username: 'tech-maria',
      name: 'Maria Lopez',
      roles: ['technician'],
      facilities: ['VALLEYGEN'],
      password,
    }),
  });
  t.is(created.status, 201, await created.text());

  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, up.hub.url('/'), 'tech-maria', password, newPassword);
  await page.getByRole('link', { name: 'Uploads' }).click();
  const stored = page.getByTestId('upload-/ct-0.dcm');
  const refused = page.getByTestId('upload-/letter.txt');
  await stored.waitFor();
  await refused.waitFor();
  t.regex((await stored.textContent()) ?? '', /tech1.*sftp.*VALLEYGEN.*stored.*1 stored/s);
  t.regex((await refused.textContent()) ?? '', /refused.*not a DICOM Part-10 file/s);
  await screenshot(page, 'uploads-technician');
  await page.getByText('Refused', { exact: true }).click();
  await stored.waitFor({ state: 'detached' });
  t.is(await refused.count(), 1);

  const foreign = await page.evaluate(async () => (await fetch('/api/uploads?facility=HILLSIDE')).status);
  t.is(foreign, 403);
  t.deepEqual(unexpected(problems, [401, 403]), []);
});
