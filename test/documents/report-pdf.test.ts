// The report PDF read back by poppler (pdftotext, pdftoppm), a reader nobody here wrote: the text is there and
// extractable, non-Latin-1 names survive, a long report gets "page n of m", an amendment says AMENDED. Page 1
// is kept as artifacts/report-pdf-page1.png (gitignored) to look at.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { PDFDocument } from 'pdf-lib';
import { renderReportPdf, type ReportPdfInput } from '../../documents/report-pdf.ts';

const run = promisify(execFile);
const artifacts = path.join(import.meta.dirname, '..', '..', 'artifacts');

const input: ReportPdfInput = {
  facilityName: 'Valley General',
  patient: { name: 'Łukasiewicz-Wiśniewska, Zoë', id: 'MRN-4711', birthDate: '1961-02-03' },
  examNumber: 'RSO-2026-000042',
  accession: 'ACC-9001',
  procedure: 'CT head without contrast',
  orderedAt: '2026-12-01T08:00:00.000Z',
  studyDate: '2026-12-01',
  state: 'final',
  findings: 'The ventricles are normal in size. No intracranial haemorrhage. No mass effect.',
  impression: 'No acute intracranial abnormality.',
  radiologist: 'Dr. Wei Chen',
  signedAt: '2026-12-01T09:15:00.000Z',
  amended: false,
  reportId: 'RSO-2026-000042-R1',
  version: 3,
};

async function pdftotext(pdf: Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-pdf-'));
  try {
    await writeFile(path.join(dir, 'r.pdf'), pdf);
    return (await run('pdftotext', ['-enc', 'UTF-8', path.join(dir, 'r.pdf'), '-'])).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('pdftotext finds the facility, patient, exam number, accession, impression and the signature', async (t) => {
  const pdf = await renderReportPdf(input);
  t.is(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const text = await pdftotext(pdf);
  for (const expected of [
    'Valley General',
    'Łukasiewicz-Wiśniewska, Zoë',
    'MRN-4711',
    '1961-02-03',
    'RSO-2026-000042',
    'ACC-9001',
    'CT head without contrast',
    'No acute intracranial abnormality.',
    'Signed by Dr. Wei Chen on 2026-12-01 09:15 UTC',
    'Page 1 of 1',
  ])
    t.true(text.includes(expected), `"${expected}" is in the text`);
  t.false(text.includes('AMENDED'));

  await keepPage1(pdf, 'report-pdf');
});

test('an amended report has the banner with its reason, and a long report numbers its pages', async (t) => {
  const findings = Array.from({ length: 120 }, (_, i) => `Finding line ${i + 1}: unremarkable.`).join('\n');
  const pdf = await renderReportPdf({
    ...input,
    findings,
    amended: true,
    state: 'amended',
    reason: 'laterality corrected',
  });
  const pages = (await PDFDocument.load(pdf)).getPageCount();
  t.true(pages >= 2, `${pages} pages`);
  const text = await pdftotext(pdf);
  t.true(text.includes('AMENDED REPORT: laterality corrected'));
  t.true(text.includes(`Page ${pages} of ${pages}`));
  t.true(text.includes('Finding line 120: unremarkable.'));
  t.true(text.includes('No acute intracranial abnormality.'));
  await keepPage1(pdf, 'report-pdf-amended');
});

test('a Latin-1 report uses the standard Helvetica; a name beyond Latin-1 embeds DejaVu Sans', async (t) => {
  const fonts = async (pdf: Buffer) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rso-pdf-'));
    try {
      await writeFile(path.join(dir, 'r.pdf'), pdf);
      return (await run('pdffonts', [path.join(dir, 'r.pdf')])).stdout;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const latin = await renderReportPdf({ ...input, patient: { ...input.patient, name: 'Müller, Zoë – Jr.' } });
  t.regex(await fonts(latin), /Helvetica/);
  t.notRegex(await fonts(latin), /DejaVu/);
  t.true((await pdftotext(latin)).includes('Müller, Zoë – Jr.'));
  t.regex(await fonts(await renderReportPdf(input)), /DejaVuSans/);
});

async function keepPage1(pdf: Buffer, name: string): Promise<void> {
  await mkdir(artifacts, { recursive: true });
  await writeFile(path.join(artifacts, `${name}.pdf`), pdf);
  const args = ['-png', '-r', '60', '-singlefile', '-f', '1', path.join(artifacts, `${name}.pdf`)];
  await run('pdftoppm', [...args, path.join(artifacts, `${name}-page1`)]);
}
