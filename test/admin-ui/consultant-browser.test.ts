// The consultant link as people use it, in Debian's Chromium against the real hub process: the radiologist signs
// the exam's report over the reading screen's API, a facility user makes a link for it on the share page; the
// link opens without an account (another browser context, no cookie) and shows the report, its PDF and the
// study's series, and its images in the viewer, read through the link's own DICOMweb root (that exam's study
// only, read-only); once revoked the page answers 410 and every image address 403. Screenshots:
// artifacts/console/consultant-*.
import test from 'ava';
import { until } from '../support/channels.ts';
import { api } from '../support/hub-process.ts';
import { launch, openPage, screenshot, signIn, unexpected } from '../support/browser.ts';
import { createUser, readyExam, startReadingHub } from './reading-hub.ts';

test('a facility user shares an exam; the link shows report, PDF and images without an account, then is revoked', async (t) => {
  const { hub, mllpPort } = await startReadingHub(t);
  await createUser(hub, 'cora', 'Cora Clerk', ['customer'], ['VALLEYGEN']);
  const exam = await readyExam(hub, mllpPort, 'VG-C-1');
  // Another exam of the same facility: the link must not reach its study.
  await readyExam(hub, mllpPort, 'VG-C-2', 'MRN-VG-C-2');
  const studyUid = async (accession: string) => {
    const found = (await (await api(hub, `/dicomweb/studies?AccessionNumber=${accession}`)).json()) as Array<
      Record<string, { Value: string[] }>
    >;
    return found[0]!['0020000D']!.Value[0]!;
  };
  const [ownStudy, otherStudy] = [await studyUid('ACC-VG-C-1'), await studyUid('ACC-VG-C-2')];
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

  // The images, in the viewer, with nothing but the link.
  await consultant.page.getByRole('link', { name: 'View the images' }).click();
  await consultant.page.waitForURL(`${link}/viewer/${ownStudy}`);
  await consultant.page.getByTestId('viewer-patient').filter({ hasText: 'RIVERA, ANA' }).waitFor();
  const image = consultant.page.getByTestId('viewer-image');
  await image.waitFor();
  // Polled: the page's CSP forbids the string evaluation waitForFunction would need.
  await until(
    async () => (await image.evaluate((img) => (img as { naturalWidth: number }).naturalWidth)) > 0,
    30_000,
    'a rendered image',
  );
  await consultant.page
    .getByTestId('viewer-position')
    .filter({ hasText: /^Image 1 \/ 3$/ })
    .waitFor();
  await screenshot(consultant.page, 'consultant-05-viewer');
  const rendered = hub.url((await image.getAttribute('src')) ?? '');
  t.regex(
    rendered,
    /\/consult\/[A-Za-z0-9_-]{43}\/dicomweb\/studies\/[0-9.]+\/series\/[0-9.]+\/instances\/[0-9.]+\/rendered\?/,
  );
  const wholeStudy = `${link}/dicomweb/studies/${ownStudy}`;
  const all = { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' };
  t.is((await consultant.page.request.get(wholeStudy, { headers: all })).status(), 200);
  const searched = (await (await consultant.page.request.get(`${link}/dicomweb/studies`)).json()) as unknown[];
  t.is(searched.length, 1, 'a search through the link finds the exam study only');
  t.is((await consultant.page.request.get(`${link}/dicomweb/studies/${otherStudy}/series`)).status(), 404);
  t.is((await consultant.page.request.get(`${link}/dicomweb/studies/${otherStudy}/thumbnail`)).status(), 404);
  t.is((await consultant.page.request.get(`${link}/dicomweb/nothing`)).status(), 404);
  const stow = await consultant.page.request.post(`${link}/dicomweb/studies`, { data: 'x' });
  t.true([404, 405].includes(stow.status()), 'the link cannot store');
  const wrongToken = link.replace(/\/consult\/./, (m) => `${m.slice(0, -1)}${m.endsWith('A') ? 'B' : 'A'}`);
  t.is((await consultant.page.request.get(`${wrongToken}/dicomweb/studies`)).status(), 404);
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
  for (const address of [rendered, wholeStudy, `${link}/dicomweb/studies`, `${wholeStudy}/metadata`])
    t.is((await consultant.page.request.get(address)).status(), 403, address);
  const viewerAgain = await consultant.page.goto(`${link}/viewer/${ownStudy}`);
  t.is(viewerAgain?.status(), 200, 'the app page itself holds nothing of the exam');
  await consultant.page
    .getByRole('alert')
    .filter({ hasText: /revoked/ })
    .waitFor();
  await screenshot(consultant.page, 'consultant-06-viewer-revoked');

  const audit = (await (await api(hub, `/api/audit?target=exam:${exam}&limit=500`)).json()) as {
    items: Array<{ action: string; user: string; detail?: Record<string, string> }>;
  };
  // Each image read (and each refused one) is its own entry; runs of one action are folded here, since the viewer
  // fetches ahead.
  const actions = audit.items.map((e) => e.action).reverse();
  t.deepEqual(
    actions.filter((action, i) => action !== actions[i - 1]),
    [
      'consultant-link.create',
      'consultant-link.use',
      'consultant-link.images',
      'consultant-link.use',
      'consultant-link.revoke',
      'consultant-link.refused',
    ],
  );
  t.true(actions.filter((action) => action === 'consultant-link.refused').length >= 7);
  t.true(audit.items.some((e) => e.action === 'consultant-link.images' && e.detail?.['path']?.endsWith('/rendered')));
  const token = link.split('/').pop()!;
  t.false(JSON.stringify(audit.items).includes(token), 'the audit never holds the token');
  // 403: a facility user's first screen is still the engine's dashboard until their own home lands (items 1, 2, 6).
  t.deepEqual(unexpected(problems, [401, 403]), []);
  t.deepEqual(unexpected(consultant.problems, [403, 410]), [], 'the pages run without a script or style error');
});
