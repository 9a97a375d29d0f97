// A consultant link's DICOMweb access (admin-ui/consultant-access.ts) over the real store: an open link reads its
// exam's studies as the consultant of its facility, an expired one is refused with 403 and an unknown token with
// 404; every use and refusal is audited with the path read, never the token.
import test from 'ava';
import { linkImageAccess } from '../../admin-ui/consultant-access.ts';
import { AuditLog } from '../../admin-ui/audit.ts';
import { ConsultantLinks } from '../../exams/consultant-links.ts';
import { HttpError } from '../../http/http-error.ts';
import { hl7Source, openTestHub } from '../exams/setup.ts';

test('a link reads its exam studies until it expires; an unknown token is not found; the audit never holds the token', async (t) => {
  const { exams, store } = await openTestHub(t);
  const exam = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: { identifiers: [{ system: 'urn:test:mrn', value: 'MRN-CA-1' }] },
      procedure: { code: 'CTHEAD' },
      modality: 'CT',
    },
    hl7Source,
  );
  let now = Date.parse('2026-12-05T10:00:00Z');
  const links = new ConsultantLinks(store.db, () => now);
  await links.ensureIndexes();
  const audit = new AuditLog(store.db);
  await audit.open();
  const access = linkImageAccess({ links, audit, exams });
  const { link, token } = await links.create(exam, 1, 'cora');
  const path = `/consult/${token}/dicomweb/studies`;

  const reader = await access(token, path);
  t.deepEqual(reader.user, { name: `consultant-link:${link._id}`, roles: ['consultant'], facilities: ['VALLEYGEN'] });
  t.deepEqual(
    [...reader.studies],
    exam.studies.map((s) => s.studyInstanceUid),
  );

  now += 3_600_000;
  const expired = await t.throwsAsync(() => access(token, path), { instanceOf: HttpError });
  t.is(expired?.status, 403);
  const unknown = await t.throwsAsync(() => access('A'.repeat(43), path), { instanceOf: HttpError });
  t.is(unknown?.status, 404);

  const entries = await audit.recent(10, `exam:${exam.examNumber}`);
  t.deepEqual(entries.map((e) => [e.action, e.detail?.['path'], e.detail?.['status']]).reverse(), [
    ['consultant-link.images', '/dicomweb/studies', undefined],
    ['consultant-link.refused', '/dicomweb/studies', 'expired'],
  ]);
  t.false(JSON.stringify(entries).includes(token));
});
