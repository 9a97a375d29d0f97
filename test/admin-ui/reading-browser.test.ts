// The reading screens as a radiologist and a transcriber use them, in Debian's Chromium against the real hub
// process: the exam ordered over MLLP and imaged by storescu shows on the radiologist's reading list, who marks it
// for dictation; the transcriber types it and hands it over; the radiologist finds it marked transcribed, signs it
// (the PDF is served), then amends it with a reason; on the patient's next exam that report is the prior and a
// scanned TIFF is uploaded as the report's document. The facility's user then finds both reports, with their
// documents, on its completed list. A radiologist is offered none of the engine's screens and is
// refused them by the hub. Screenshots land in artifacts/console/reading-*.png.
import test from 'ava';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { createUser, readyExam, startReadingHub, viewerBase } from './reading-hub.ts';

test('a transcriber’s draft reaches the radiologist, who signs it (the PDF is served) and amends it', async (t) => {
  const { hub, mllpPort } = await startReadingHub(t);
  await createUser(hub, 'rad-chen', 'Dr. Wei Chen', ['radiologist'], ['VALLEYGEN']);
  await createUser(hub, 'tina', 'Tina Typist', ['transcriber'], ['VALLEYGEN']);
  await createUser(hub, 'vg-clerk', 'Valley clerk', ['customer'], ['VALLEYGEN']);
  const exam = await readyExam(hub, mllpPort, 'VG-B-1', 'MRN-RIVERA');
  const followUp = await readyExam(hub, mllpPort, 'VG-B-2', 'MRN-RIVERA');
  const browser = await launch(t);
  const { page, problems } = await openPage(browser);

  // The radiologist starts on the reading list and marks the exam for dictation.
  await signIn(page, hub.url('/'), 'rad-chen', 'first password', 'radiologist password');
  await page.getByRole('heading', { name: 'Reading list' }).waitFor();
  const row = page.getByTestId(`reading-row-${exam}`);
  await row.waitFor();
  t.regex((await row.textContent()) ?? '', /RIVERA, ANA.*CT HEAD WO CONTRAST/);
  t.regex((await row.getByTestId('waiting').textContent()) ?? '', /\d+ (s|min)/);
  t.is(await page.getByRole('link', { name: 'Channels' }).count(), 0, 'no engine sections for a radiologist');
  await screenshot(page, 'reading-01-list');
  await row.getByRole('link', { name: exam }).click();
  await page.getByRole('heading', { name: `Exam ${exam}` }).waitFor();
  const viewer = page.getByRole('link', { name: 'Open in viewer' });
  t.true((await viewer.getAttribute('href'))?.startsWith(viewerBase));
  await page.getByRole('button', { name: 'Mark for dictation' }).click();
  await page.getByText('Marked for dictation').waitFor();
  await screenshot(page, 'reading-02-dictated');
  await page.getByRole('button', { name: 'Sign out' }).click();

  // The transcriber types the report from the queue and hands it over.
  await signIn(page, hub.url('/'), 'tina', 'first password', 'transcriber password');
  await page.getByRole('heading', { name: 'Transcription' }).waitFor();
  await page.getByTestId(`dictation-row-${exam}`).getByRole('link', { name: exam }).click();
  await page.getByRole('combobox', { name: 'Start from a template' }).click();
  await page.getByRole('option', { name: 'CT head, normal' }).click();
  t.regex(await page.getByLabel('Findings').inputValue(), /No acute intracranial haemorrhage/);
  await page.getByLabel('Impression').fill('No acute findings. Dictated by Dr. Chen.');
  t.is(await page.getByRole('button', { name: 'Sign final' }).count(), 0, 'a transcriber does not sign');
  await screenshot(page, 'reading-03-transcribing');
  await page.getByRole('button', { name: 'Hand to radiologist for signature' }).click();
  await page.getByText(`Exam ${exam} is with its radiologist for signature.`).waitFor();
  await page.getByText('No dictation is waiting.').waitFor();
  await screenshot(page, 'reading-04-handed-over');
  await page.getByRole('button', { name: 'Sign out' }).click();

  // Back on the reading list the draft is marked transcribed; the radiologist signs it.
  await signIn(page, hub.url('/'), 'rad-chen', 'radiologist password');
  await page.getByTestId(`reading-row-${exam}`).getByTestId('transcribed').waitFor();
  t.is(await page.getByTestId(`reading-row-${exam}`).getByTestId('transcribed').textContent(), 'transcribed by tina');
  await screenshot(page, 'reading-05-transcribed');
  await page.getByRole('link', { name: exam }).click();
  t.is(await page.getByLabel('Impression').inputValue(), 'No acute findings. Dictated by Dr. Chen.');
  await page.getByRole('button', { name: 'Sign final' }).click();
  await page.getByText('Signed final. The PDF is ready.').waitFor();
  await page
    .getByTestId('report-state')
    .filter({ hasText: /^final$/ })
    .waitFor();
  const href = await page.getByTestId('report-document').getAttribute('href');
  const pdf = await page.request.get(hub.url(href ?? ''));
  t.is(pdf.status(), 200);
  t.is(pdf.headers()['content-type'], 'application/pdf');
  t.is((await pdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');
  await screenshot(page, 'reading-06-signed');

  // An amendment needs its reason; it is signed again and gets its own PDF.
  await page.getByRole('button', { name: 'Amend' }).click();
  t.true(await page.getByRole('button', { name: 'Sign amendment' }).isDisabled(), 'no reason, no amendment');
  await page.getByLabel('Impression').fill('Small left subdural hygroma, no mass effect.');
  await page.getByLabel(/^Reason for the amendment/).fill('hygroma missed at first reading');
  await screenshot(page, 'reading-07-amending');
  await page.getByRole('button', { name: 'Sign amendment' }).click();
  await page.getByText('Amendment signed. The PDF is ready.').waitFor();
  await page
    .getByTestId('report-state')
    .filter({ hasText: /^amended$/ })
    .waitFor();
  await page.getByText('hygroma missed at first reading').waitFor();
  await screenshot(page, 'reading-08-amended');
  await page.getByRole('link', { name: '← Reading list' }).click();

  // The follow-up exam of the same patient: the amended report is its prior; a scanned TIFF becomes its document.
  await page.getByRole('link', { name: followUp }).click();
  await page.getByTestId('prior-reports').getByText(exam, { exact: false }).click();
  await page.getByText('Small left subdural hygroma, no mass effect.').waitFor();
  const tiff = Buffer.concat([Buffer.from('49492a0008000000', 'hex'), Buffer.alloc(512)]);
  const chooser = page.waitForEvent('filechooser');
  await page.getByLabel('Scanned report (PDF, TIFF or JPEG)').click();
  await (await chooser).setFiles({ name: 'outside-scan.tif', mimeType: 'image/tiff', buffer: tiff });
  await page.getByRole('button', { name: 'Upload scan' }).click();
  await page.getByText('outside-scan.tif is the report').waitFor();
  await page.getByTestId('report-document').filter({ hasText: 'outside-scan.tif' }).waitFor();
  await screenshot(page, 'reading-09-scan-and-prior');
  await page.getByRole('button', { name: 'Sign final' }).click();
  await page
    .getByTestId('report-state')
    .filter({ hasText: /^final$/ })
    .waitFor();
  const scan = await page.request.get(hub.url((await page.getByTestId('report-document').getAttribute('href')) ?? ''));
  t.is(scan.headers()['content-type'], 'image/tiff', 'the scan, not a rendered PDF, is what the facility gets');
  t.deepEqual(await scan.body(), tiff);
  await page.getByRole('link', { name: '← Reading list' }).click();
  await page.getByText('Nothing to read right now.').waitFor();

  // The engine's screens: not offered, and refused when asked for anyway.
  await page.goto(hub.url('/channels'));
  await page.getByRole('alert').filter({ hasText: 'Not allowed' }).waitFor();
  await screenshot(page, 'reading-10-channels-refused');
  t.is((await page.request.get(hub.url('/api/channels'))).status(), 403);
  t.is((await page.request.get(hub.url('/api/users'))).status(), 403);
  await page.getByRole('button', { name: 'Sign out' }).click();

  // The facility's user finds both reports on the completed list, each with its document.
  await signIn(page, hub.url('/'), 'vg-clerk', 'first password', 'facility password');
  await page.getByRole('link', { name: 'Completed exams' }).click();
  await page.getByRole('heading', { name: 'Completed exams' }).waitFor();
  const amendedRow = page.getByTestId(`completed-${exam}`);
  const scannedRow = page.getByTestId(`completed-${followUp}`);
  await amendedRow.getByText('amended', { exact: true }).waitFor();
  await scannedRow.getByText('final', { exact: true }).waitFor();
  t.regex((await amendedRow.textContent()) ?? '', /not sent anywhere/, 'no report channel in this hub');
  await screenshot(page, 'reading-11-facility-completed');
  const amendedPdf = await page.request.get(
    hub.url((await amendedRow.getByRole('link', { name: 'Open report' }).getAttribute('href')) ?? ''),
  );
  t.is(amendedPdf.headers()['content-type'], 'application/pdf');
  t.is((await amendedPdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');
  const scanned = await page.request.get(
    hub.url((await scannedRow.getByRole('link', { name: 'Open report' }).getAttribute('href')) ?? ''),
  );
  t.deepEqual(await scanned.body(), tiff, 'the facility gets the scan as it came');
  t.is(await page.getByRole('link', { name: 'Reading list' }).count(), 0, 'no reading list for a facility user');
  t.is((await page.request.get(hub.url('/api/reading/list'))).status(), 403);
  t.deepEqual(unexpected(problems, [401, 403]), [], 'no script error and no CSP violation on any screen');
});
