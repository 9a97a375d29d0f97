// Consultant links (issue 15 item 5) over a real HTTP listener: a facility user makes a link for one exam with an
// expiry of 1 to 720 hours; the page opens without an account and shows the report, its PDF and the study's
// series and instances; each use is audited; after revocation or expiry the link answers 410 with a readable
// page, and the store never holds the token itself.
import test from 'ava';
import { readingServer, readyExam } from '../admin-ui/reading-setup.ts';

async function signedExam(ctx: Awaited<ReturnType<typeof readingServer>>, placer: string) {
  const exam = await readyExam(ctx.exams, placer);
  const by = { actor: 'rad-chen', via: 'admin-ui' } as const;
  const report = await ctx.exams.reports.create(
    { examNumber: exam.examNumber, findings: 'No <script>bleed</script>.', impression: 'Normal.', author: 'rad-chen' },
    by,
  );
  await ctx.exams.reports.sign(report._id, {}, by);
  for (const n of [1, 2])
    await ctx.studies.putInstance({
      _id: `${exam.studyInstanceUid}.${n}`,
      studyInstanceUid: exam.studyInstanceUid,
      seriesInstanceUid: `${exam.studyInstanceUid}.100`,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      filePath: `/nowhere/${n}.dcm`,
      sizeBytes: 1000,
      facility: 'VALLEYGEN',
      source: 'VALLEY_CT',
      receivedAt: new Date().toISOString(),
      seriesNumber: 2,
      instanceNumber: n,
      modality: 'CT',
      seriesDescription: 'Axial 5mm',
    });
  return exam;
}

test('a facility user shares an exam; the page shows report, PDF and series without an account; revoked it is 410', async (t) => {
  const ctx = await readingServer(t);
  const exam = await signedExam(ctx, 'CL1');
  const path = `/api/exams/${exam.examNumber}/consultant-links`;
  for (const hours of [0, 721, 1.5, '24']) {
    const refused = await ctx.as('cora', path, 'POST', { hours });
    t.is(refused.status, 422, `hours ${hours}`);
    t.regex(((await refused.json()) as { detail: string }).detail, /from 1 to 720/);
  }
  const created = await ctx.as('cora', path, 'POST', { hours: 48 });
  t.is(created.status, 201);
  const link = (await created.json()) as { id: string; path: string; token: string; expiresAt: string; state: string };
  t.is(link.state, 'open');
  t.is(Date.parse(link.expiresAt) - Date.now() > 47 * 3_600_000, true);

  const page = await fetch(ctx.url(link.path));
  t.is(page.status, 200);
  t.is(page.headers.get('cache-control'), 'no-store');
  t.is(page.headers.get('referrer-policy'), 'no-referrer');
  const html = await page.text();
  t.regex(html, /Müller, Zoë/);
  t.regex(html, /No &lt;script&gt;bleed&lt;\/script&gt;\./, 'report text is escaped');
  t.regex(html, /Axial 5mm/);
  t.regex(html, /2 instances/);
  const pdf = await fetch(ctx.url(`${link.path}/document`));
  t.is(pdf.status, 200);
  t.is(pdf.headers.get('content-type'), 'application/pdf');
  t.is(
    Buffer.from(await pdf.arrayBuffer())
      .subarray(0, 5)
      .toString('latin1'),
    '%PDF-',
  );

  const stored = await ctx.store.db.collection('consultant_links').find({}).toArray();
  t.false(JSON.stringify(stored).includes(link.token), 'only the hash of the token is stored');
  const listed = (await (await ctx.as('cora', path)).json()) as Array<{ id: string; uses: number }>;
  t.deepEqual(
    listed.map((l) => [l.id, l.uses]),
    [[link.id, 2]],
  );

  t.is((await ctx.as('olga', path, 'POST', { hours: 1 })).status, 403, 'another facility');
  t.is((await ctx.as('tom', path, 'POST', { hours: 1 })).status, 403, 'a technician');
  t.is((await ctx.as('olga', `/api/consultant-links/${link.id}/revoke`, 'POST', {})).status, 403);
  const revoked = await ctx.as('cora', `/api/consultant-links/${link.id}/revoke`, 'POST', {});
  t.is(revoked.status, 200);
  t.is(((await revoked.json()) as { state: string }).state, 'revoked');
  const twice = await ctx.as('cora', `/api/consultant-links/${link.id}/revoke`, 'POST', {});
  t.is(twice.status, 409);
  t.regex(((await twice.json()) as { detail: string }).detail, /already revoked/);

  const gone = await fetch(ctx.url(link.path));
  t.is(gone.status, 410);
  const goneHtml = await gone.text();
  t.regex(goneHtml, /revoked/);
  t.notRegex(goneHtml, /Müller/, 'nothing of the exam once revoked');
  t.is((await fetch(ctx.url(`${link.path}/document`))).status, 410);
  t.is((await fetch(ctx.url('/consult/not-a-token-at-all-xxxxxxxx'))).status, 404);

  const actions = (await ctx.audit.recent(20, `exam:${exam.examNumber}`)).map((e) => e.action).reverse();
  t.deepEqual(actions, [
    'consultant-link.create',
    'consultant-link.use',
    'consultant-link.use',
    'consultant-link.revoke',
    'consultant-link.refused',
    'consultant-link.refused',
  ]);
});

test('a radiologist shares too; the link expires after the hours chosen and then answers 410', async (t) => {
  const ctx = await readingServer(t);
  const exam = await signedExam(ctx, 'CL2');
  const path = `/api/exams/${exam.examNumber}/consultant-links`;
  t.is((await ctx.as('rad-other', path, 'POST', { hours: 1 })).status, 403, 'reads not for this facility');
  const created = await ctx.as('rad-chen', path, 'POST', { hours: 1 });
  t.is(created.status, 201);
  const link = (await created.json()) as { path: string };
  t.is((await fetch(ctx.url(link.path))).status, 200);
  ctx.advance(3_600_000);
  const expired = await fetch(ctx.url(link.path));
  t.is(expired.status, 410);
  t.regex(await expired.text(), /This link has expired/);
});
