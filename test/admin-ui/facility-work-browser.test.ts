// The RSO work areas as people use them, in Debian's Chromium against a real hub process: a facility user
// registers a patient and exam (a mistake shown at its field first); the technician sees it, claims it and uploads
// a 20-file study from the browser (one STOW-RS request per file, progress shown), which matches the exam by the
// exam number in PatientID; the exception list's attach and dismiss work; and the technician is refused the
// facility user's screens (no link, "not allowed" at the address, 403 from the API). Screenshots land in
// artifacts/console/ (work-*). The 401 each page shows is the session check before signing in.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { buildPart10, spec, uid } from '../dicom/make-instance.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { until } from '../support/channels.ts';
import { api, repoRoot, startHub, stopHub, waitHealthy } from '../support/hub-process.ts';

const facility = JSON.parse(await readFile(path.join(repoRoot, 'config', 'facilities', 'valley-general.json'), 'utf8'));
const password = 'first password of the user';
const newPassword = 'the password I chose myself';

interface ListedExam {
  examNumber: string;
  status: string;
  studies: Array<{ studyInstanceUid: string; instanceCount?: number }>;
}

async function createUser(hub: Parameters<typeof api>[0], username: string, roles: string[]) {
  const response = await api(hub, '/api/users', {
    method: 'POST',
    body: JSON.stringify({ username, name: username, roles, facilities: ['VALLEYGEN'], password }),
  });
  if (response.status !== 201) throw new Error(`user ${username}: ${response.status} ${await response.text()}`);
}

/** A study the hub could not match: its PatientID looks like an exam number that does not exist. */
async function strayStudy(hub: Parameters<typeof api>[0], patientId: string): Promise<void> {
  const bytes = buildPart10(spec({ patientId, patientName: 'Stray^Study', accessionNumber: '', pixelBytes: 512 }));
  const response = await api(hub, '/dicomweb/studies?facility=VALLEYGEN', {
    method: 'POST',
    body: bytes,
    headers: { 'content-type': 'application/dicom' },
  });
  if (response.status !== 200) throw new Error(`stray study: ${response.status}`);
}

test('a facility user registers an exam; the technician claims it, uploads its study and works the exception list', async (t) => {
  const { radiologistPacs: _pacs, moveDestinations: _move, ...valley } = facility;
  const hub = await startHub({ facilities: [valley] });
  t.teardown(() => void stopHub(hub, 'SIGKILL'));
  await waitHealthy(hub);
  await createUser(hub, 'vg-clerk', ['customer']);
  await createUser(hub, 'tech-maria', ['technician']);
  const browser = await launch(t);

  // The facility user lands on the active list, registers a patient with a wrong birth date, then fixes it.
  const clerk = await openPage(browser);
  await signIn(clerk.page, hub.url('/'), 'vg-clerk', password, newPassword);
  await clerk.page.getByRole('heading', { name: 'Active exams' }).waitFor();
  await clerk.page.getByText('No exam is waiting for a report.').waitFor();
  await clerk.page.getByRole('link', { name: 'Register an exam' }).first().click();
  await clerk.page.getByLabel(/^Medical record number/).fill('VG-7001');
  await clerk.page.getByLabel(/^Family name/).fill('Ramírez');
  await clerk.page.getByLabel('Given names').fill('Ana Sofía');
  await clerk.page.getByLabel('Birth date').fill('12.04.1980');
  await clerk.page.getByLabel(/^Procedure code/).fill('CTCHEST');
  await clerk.page.getByLabel('Procedure', { exact: true }).fill('CT chest with contrast');
  await clerk.page.getByLabel('Modality').fill('CT');
  await clerk.page.getByLabel('Reason for the exam').fill('cough for six weeks');
  await clerk.page.getByRole('button', { name: 'Register' }).click();
  await clerk.page.getByText(/patient\.birthDate: expected YYYY-MM-DD/).waitFor();
  await screenshot(clerk.page, 'work-01-register-error-at-field');
  await clerk.page.getByLabel('Birth date').fill('1980-04-12');
  await clerk.page.getByRole('button', { name: 'Register' }).click();
  const registered = clerk.page.getByTestId('registered');
  await registered.waitFor();
  const examNumber = /RSO-\d{4}-\d+/.exec((await registered.textContent()) ?? '')?.[0];
  if (examNumber === undefined) throw new Error('no exam number shown');
  await screenshot(clerk.page, 'work-02-registered');
  await clerk.page.getByRole('button', { name: 'Active exams' }).click();
  await clerk.page.getByTestId(`active-${examNumber}`).waitFor();
  await screenshot(clerk.page, 'work-03-facility-active-list');

  // The technician's home is their work list; they claim the exam and upload 20 files with its number.
  const tech = await openPage(browser);
  await signIn(tech.page, hub.url('/'), 'tech-maria', password, newPassword);
  const row = tech.page.getByTestId(`work-${examNumber}`);
  await row.waitFor();
  await row.getByRole('button', { name: 'Claim' }).click();
  await row.getByRole('cell', { name: 'tech-maria' }).waitFor();
  await tech.page.getByTestId('upload').waitFor();
  const study = uid();
  const series = uid();
  const files = Array.from({ length: 20 }, (_, i) => ({
    name: `IM${String(i + 1).padStart(4, '0')}.dcm`,
    mimeType: 'application/dicom',
    buffer: buildPart10(
      spec({
        patientId: examNumber,
        patientName: 'Ramirez^Ana',
        studyInstanceUid: study,
        seriesInstanceUid: series,
        accessionNumber: '',
        pixelBytes: 32 * 1024,
      }),
    ),
  }));
  await tech.page.getByLabel('DICOM files').setInputFiles(files);
  await tech.page.getByLabel('Upload progress').waitFor();
  await tech.page.getByTestId('upload-summary').filter({ hasText: '20 of 20 files sent: all stored' }).waitFor();
  t.is(await tech.page.getByTestId('upload-file').count(), 20);
  await row.getByText('20 images').waitFor();
  await screenshot(tech.page, 'work-04-technician-upload');
  const matched = async () => {
    const active = (await (await api(hub, '/api/facilities/VALLEYGEN/active')).json()) as ListedExam[];
    return active.find((e) => e.examNumber === examNumber);
  };
  await until(async () => (await matched())?.studies[0]?.instanceCount === 20, 15_000, 'the study on the exam');
  t.like(await matched(), { status: 'images-received', studies: [{ studyInstanceUid: study, instanceCount: 20 }] });

  // Two studies matched nothing: one is attached to the exam, the other dismissed with a reason.
  await strayStudy(hub, 'RSO-2000-999991');
  await strayStudy(hub, 'RSO-2000-999992');
  await tech.page.getByRole('link', { name: 'Exception list' }).click();
  const entries = tech.page.locator('[data-testid^="exception-"]');
  await entries.nth(1).waitFor();
  await screenshot(tech.page, 'work-05-exception-list');
  await entries.first().getByRole('button', { name: 'Attach' }).click();
  const dialog = tech.page.getByRole('dialog');
  await dialog.getByLabel(/^Exam number it belongs to/).fill(examNumber);
  await dialog.getByRole('button', { name: 'Attach' }).click();
  await until(async () => (await entries.count()) === 1, 15_000, 'attached');
  await entries.first().getByRole('button', { name: 'Dismiss' }).click();
  await dialog.getByLabel(/^Reason/).fill('test images from the service engineer');
  await screenshot(tech.page, 'work-06-exception-dismiss');
  await dialog.getByRole('button', { name: 'Dismiss' }).click();
  await tech.page.getByText('No exception to look at.').waitFor();
  t.is((await matched())?.studies.length, 2, 'the attached study is on the exam');

  // The technician has no link to the facility user's screens, is told so at their address, and the API says 403.
  t.is(await tech.page.getByRole('link', { name: 'Register an exam' }).count(), 0);
  t.is(await tech.page.getByRole('link', { name: 'Dashboard' }).count(), 0);
  await tech.page.goto(hub.url('/work/register'));
  await tech.page.getByRole('alert').filter({ hasText: 'belongs to another role' }).waitFor();
  await screenshot(tech.page, 'work-07-technician-refused');
  const refused = await tech.page.evaluate(async () => {
    const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
    const response = await fetch('/api/facilities/VALLEYGEN/exams', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ patientId: 'x', procedureCode: 'CT' }),
    });
    return response.status;
  });
  t.is(refused, 403);

  t.deepEqual(unexpected(clerk.problems, [401, 422]), []);
  t.deepEqual(unexpected(tech.problems, [401, 403]), []);
});
