// The consultant link as people use it, in Debian's Chromium against the real hub process: the radiologist signs
// the exam's report over the reading screen's API, a facility user makes a link for it on the share page; the
// link opens without an account (another browser context, no cookie) and shows the report, its PDF and the
// study's series; once revoked it answers 410 with a page saying so. Screenshots: artifacts/console/consultant-*.
import test from 'ava';
import { api } from '../support/hub-process.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { createUser, readyExam, startReadingHub } from './reading-hub.ts';

test('a facility user shares an exam; the link shows report, PDF and images without an account, then is revoked', async (t) => {
  const { hub, mllpPort } = await startReadingHub(t);
  await createUser(hub, 'cora', 'Cora Clerk', ['customer'], ['VALLEYGEN']);
  const exam = await readyExam(hub, mllpPort, 'VG-C-1');
  // The report, signed for rad-chen by the admin token (the reading browser test signs through the screens).
  const draft = await api(hub, `/api/exams/${exam}/reports`, {
    method: 'POST',
    body: JSON.stringify({ findings: 'Ventricles normal.', impression: 'No acute findings.' }),
  });
  const { _id: reportId } = (await draft.json()) as { _id: string };
  const signed = await api(hub, `/api/reports/${reportId}/sign`, {
    method: 'POST',
    body: JSON.stringify({ author: 'rad-chen' }),
  });
  t.is(signed.status, 200);

  const browser = await launch(t);
  const { page, problems } = await openPage(browser);
  await signIn(page, hub.url('/'), 'cora', 'first password', 'facility password');
  await page.goto(hub.url(`/exams/${exam}/share`));
  await page.getByRole('heading', { name: `Share exam ${exam} with a consultant` }).waitFor();
  await page.getByLabel(/^Valid for/).fill('24');
  await page.getByRole('button', { name: 'Create consultant link' }).click();
  const link = (await page.getByTestId('consultant-link').textContent()) ?? '';
  t.regex(link, /^http:\/\/127\.0\.0\.1:\d+\/consult\/[A-Za-z0-9_-]{43}$/);
  await page.getByTestId('consultant-link-row').getByText('open', { exact: true }).waitFor();
  await screenshot(page, 'consultant-01-created');

  // The consultant: no account, no cookie.
  const consultant = await openPage(browser);
  const opened = await consultant.page.goto(link);
  t.is(opened?.status(), 200);
  await consultant.page.getByRole('heading', { name: `Exam ${exam}` }).waitFor();
  await consultant.page.getByText('No acute findings.').waitFor();
  await consultant.page.getByText('3 instances').waitFor();
  t.is(await consultant.page.getByRole('button').count(), 0, 'nothing to change on the page');
  await screenshot(consultant.page, 'consultant-02-page');
  const pdf = await consultant.page.request.get(`${link}/document`);
  t.is(pdf.status(), 200);
  t.is(pdf.headers()['content-type'], 'application/pdf');
  t.is((await pdf.body()).subarray(0, 5).toString('latin1'), '%PDF-');

  // Revoked, the link stops working at once and says so.
  await page.getByRole('button', { name: 'Revoke' }).click();
  await page.getByTestId('consultant-link-row').getByText('revoked', { exact: true }).waitFor();
  await screenshot(page, 'consultant-03-revoked');
  const gone = await consultant.page.goto(link);
  t.is(gone?.status(), 410);
  await consultant.page.getByRole('heading', { name: 'Link no longer valid' }).waitFor();
  t.is(await consultant.page.getByText('No acute findings.').count(), 0);
  await screenshot(consultant.page, 'consultant-04-gone');
  t.is((await consultant.page.request.get(`${link}/document`)).status(), 410);

  const audit = (await (await api(hub, `/api/audit?target=exam:${exam}`)).json()) as {
    items: Array<{ action: string; user: string }>;
  };
  t.deepEqual(audit.items.map((e) => e.action).reverse(), [
    'consultant-link.create',
    'consultant-link.use',
    'consultant-link.use',
    'consultant-link.revoke',
    'consultant-link.refused',
    'consultant-link.refused',
  ]);
  // 403: a facility user's first screen is still the engine's dashboard until their own home lands (items 1, 2, 6).
  t.deepEqual(unexpected(problems, [401, 403]), []);
  t.deepEqual(unexpected(consultant.problems, [410]), [], 'the page runs without a script or style error');
});
