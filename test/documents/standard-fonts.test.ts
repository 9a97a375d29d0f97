// The standard fonts shared between documents (documents/standard-fonts.ts) must not change a byte of the PDF:
// the same report rendered with shared metrics and with pdfkit building its own fonts is the same file, apart from
// the creation time and the file ID derived from it. Latin-1 reports only: others embed DejaVu instead.
import test from 'ava';
import PDFDocument from 'pdfkit';
import { renderReportPdf, type ReportPdfInput } from '../../documents/report-pdf.ts';
import { shareStandardFonts } from '../../documents/standard-fonts.ts';

const input: ReportPdfInput = {
  facilityName: 'Valley General',
  patient: { name: 'Müller, Zoë – Jr.', id: 'MRN-4711', birthDate: '1961-02-03' },
  examNumber: 'RSO-2026-000042',
  accession: 'ACC-9001',
  procedure: 'CT head without contrast',
  orderedAt: '2026-12-01T08:00:00.000Z',
  state: 'final',
  findings: Array.from({ length: 80 }, (_, n) => `Finding ${n + 1}: AVAWAY Te To kerning pairs «»`).join('\n'),
  impression: 'No acute intracranial abnormality.',
  radiologist: 'Dr. Wei Chen',
  signedAt: '2026-12-01T09:15:00.000Z',
  amended: true,
  reason: 'laterality',
  reportId: 'RSO-2026-000042-R1',
  version: 3,
};

/** The PDF without what differs between two renders of one report: its creation date and its file ID. */
function stable(pdf: Buffer): string {
  return pdf
    .toString('latin1')
    .replace(/\(D:\d{14}Z\)/g, '')
    .replace(/\/ID \[<[0-9a-f]+> <[0-9a-f]+>\]/g, '');
}

test('a report rendered with shared font metrics is the same PDF as one whose fonts pdfkit built itself', async (t) => {
  const shared = await renderReportPdf(input);
  const own = await renderReportPdf(input, { shareFonts: false });
  t.true(shared.length > 2000);
  t.is(stable(shared), stable(own));
  // A second shared render (metrics from the cache this time) is the same file too.
  t.is(stable(await renderReportPdf(input)), stable(own));
});

test('two documents get fonts of their own (id, document) around one metrics object', (t) => {
  const a = new PDFDocument({ font: '' });
  const b = new PDFDocument({ font: '' });
  t.true(shareStandardFonts(a, ['Helvetica', 'Helvetica-Bold']));
  t.true(shareStandardFonts(b, ['Helvetica']));
  const fonts = (doc: PDFKit.PDFDocument) =>
    (doc as unknown as { _fontFamilies: Record<string, { id: string; document: unknown; font: unknown }> })
      ._fontFamilies;
  t.is(fonts(a)['Helvetica']?.id, 'F1');
  t.is(fonts(a)['Helvetica-Bold']?.id, 'F2');
  t.is(fonts(a)['Helvetica']?.document, a);
  t.is(fonts(b)['Helvetica']?.document, b);
  t.is(fonts(a)['Helvetica']?.font, fonts(b)['Helvetica']?.font);
  a.end();
  b.end();
});
