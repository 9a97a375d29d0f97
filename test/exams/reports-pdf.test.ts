// A signed report gets its PDF before the state change is written: rendered-<version>.pdf, kept like an upload
// (size, SHA-256), the document a facility receives unless a scan was uploaded; an amendment renders again with
// the AMENDED banner. The renderer is the hub's own (documents/report-pdf.ts, with its file: report-pdf-file.ts), read back with pdftotext.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { renderReportPdfFile } from '../../documents/report-pdf-file.ts';
import { orderedExam } from './report-setup.ts';
import { openTestHub } from './setup.ts';

const run = promisify(execFile);
const radiologist = { actor: 'rad-chen', via: 'admin-ui' } as const;

test('signing renders the PDF first; amending renders it again with the banner', async (t) => {
  const { exams, dataDir } = await openTestHub(t);
  exams.reports.renderWith(renderReportPdfFile);
  const exam = await orderedExam(exams, 'PDF1');
  const draft = await exams.reports.create(
    { examNumber: exam.examNumber, findings: 'Normal ventricles.', impression: 'No acute abnormality.' },
    radiologist,
  );
  t.deepEqual(draft.attachments, [], 'a draft has no PDF');
  const signed = await exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist);
  t.is(signed.documentId, 'rendered-2.pdf');
  t.like(signed.attachments[0], { id: 'rendered-2.pdf', contentType: 'application/pdf', rendered: true });
  const text = (file: string) => run('pdftotext', ['-enc', 'UTF-8', path.join(dataDir, file), '-']);
  const first = (await text(signed.attachments[0]!.path)).stdout;
  for (const expected of [
    'Müller, Zoë',
    'MRN-PDF1',
    exam.examNumber,
    'ACC-PDF1',
    'No acute abnormality.',
    'Dr. Wei Chen',
  ])
    t.true(first.includes(expected), expected);

  const amended = await exams.reports.amend(
    draft._id,
    { impression: 'Small old infarct, left.' },
    'missed finding',
    radiologist,
  );
  t.is(amended.documentId, 'rendered-3.pdf');
  t.deepEqual(
    amended.attachments.map((a) => a.id),
    ['rendered-2.pdf', 'rendered-3.pdf'],
  );
  const second = (await text(amended.attachments[1]!.path)).stdout;
  t.true(second.includes('AMENDED REPORT: missed finding'));
  t.true(second.includes('Small old infarct, left.'));
  const served = await exams.reports.document(draft._id);
  t.is(served.attachment.id, 'rendered-3.pdf');
  t.is(served.bytes.subarray(0, 5).toString('latin1'), '%PDF-');
});

test('the report a signing returns serves the PDF it just stored; a report read again checks the file on disk', async (t) => {
  const { exams, dataDir } = await openTestHub(t);
  exams.reports.renderWith(renderReportPdfFile);
  const exam = await orderedExam(exams, 'PDF3');
  const draft = await exams.reports.create(
    { examNumber: exam.examNumber, impression: 'No acute abnormality.' },
    radiologist,
  );
  const signed = await exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist);
  const file = path.join(dataDir, signed.attachments[0]!.path);
  const stored = await readFile(file);
  const cut = stored.subarray(0, stored.length - 100);
  await writeFile(file, cut);

  const answered = await exams.reports.documentOf(signed);
  t.deepEqual(answered.bytes, stored, 'the bytes the signing synced, for its own answer');
  await t.throwsAsync(exams.reports.documentOf(await exams.reports.require(draft._id)), {
    message: /does not match its record/,
  });
  await t.throwsAsync(exams.reports.document(draft._id), { message: /does not match its record/ });
});
