// Report PDF renders per second, alone (no store, no HTTP): the hub's renderer (documents/report-pdf.ts: pdfkit,
// text wrapped and laid out, page numbers; Helvetica for a Latin-1 report, a DejaVu Sans subset embedded for a
// name beyond it) on the event loop and on the PDF threads (report-pdf-pool.ts), beside pdf-lib drawing the same
// text in the standard Helvetica with a naive line wrap: the floor of what "a PDF of this report" costs. Rounds
// alternate and medians are kept, so a neighbour's burst on the shared machine colours every row alike.
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { ReportPdfPool } from '../../documents/report-pdf-pool.ts';
import { renderReportPdf, type ReportPdfInput } from '../../documents/report-pdf.ts';
import { percentile } from '../report.ts';

export function reportInput(i: number, name = 'Müller, Zoë'): ReportPdfInput {
  return {
    facilityName: 'Valley General',
    patient: { name: `${name} ${i}`, id: `MRN-${i}`, birthDate: '1961-02-03' },
    examNumber: `RSO-2026-${String(i).padStart(6, '0')}`,
    accession: `ACC-${i}`,
    procedure: 'CT head without contrast',
    orderedAt: '2026-12-01T08:00:00.000Z',
    studyDate: '2026-12-01',
    state: 'final',
    findings: Array.from(
      { length: 12 },
      (_, n) => `Finding ${n + 1}: the structures are normal in size and form.`,
    ).join('\n'),
    impression: 'No acute intracranial abnormality.',
    radiologist: 'Dr. Wei Chen',
    signedAt: '2026-12-01T09:15:00.000Z',
    amended: false,
    reportId: `RSO-2026-${i}-R1`,
    version: 3,
  };
}

async function pdfLib(report: ReportPdfInput): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  let page = doc.addPage([595, 842]);
  let y = 780;
  const line = (text: string, size = 10, f = font) => {
    if (y < 60) {
      page = doc.addPage([595, 842]);
      y = 780;
    }
    // Helvetica is WinAnsi only: what it cannot show becomes "?" (the hub's renderer embeds DejaVu instead).
    page.drawText(text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?'), { x: 56, y, size, font: f });
    y -= size * 1.4;
  };
  line(report.facilityName, 16, bold);
  for (const [label, value] of [
    ['Patient', report.patient.name],
    ['Patient ID', report.patient.id],
    ['Exam number', report.examNumber],
    ['Accession', report.accession ?? ''],
    ['Procedure', report.procedure],
  ])
    line(`${label}: ${value}`);
  line('Findings', 12, bold);
  for (const text of (report.findings ?? '').split('\n'))
    for (const part of text.match(/.{1,90}(\s|$)/g) ?? []) line(part);
  line('Impression', 12, bold);
  line(report.impression ?? '');
  line(`Signed by ${report.radiologist} on ${report.signedAt}`);
  const pages = doc.getPages();
  pages.forEach((p, n) => {
    p.drawText(`Page ${n + 1} of ${pages.length}`, { x: 270, y: 30, size: 8, font });
  });
  return doc.save();
}

export interface RenderFigures {
  perSecond: number;
  p50: number;
  p99: number;
  kib: number;
}

type Render = (input: ReportPdfInput) => Promise<Uint8Array>;

/** `count` renders, `parallel` at a time (1: one after another, as a request on the event loop waits). */
async function measure(render: Render, count: number, parallel: number, name?: string): Promise<RenderFigures> {
  const durations: number[] = [];
  let bytes = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        const size = (await render(reportInput(i, name))).length;
        bytes += size;
        durations.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: count / seconds,
    p50: percentile(durations, 50),
    p99: percentile(durations, 99),
    kib: bytes / count / 1024,
  };
}

export interface PdfRow {
  name: string;
  figures: RenderFigures;
}

/** The rows of the PDF table: medians of `rounds` alternating rounds of `count` renders each. */
export async function measurePdfRenders(count: number, rounds: number, threads: number): Promise<PdfRow[]> {
  const pool = new ReportPdfPool({ threads, maxQueued: 1000 });
  pool.start();
  const unicode = 'Łukasiewicz-Wiśniewska, Zoë';
  const variants: Array<{ name: string; run: () => Promise<RenderFigures> }> = [
    {
      name: 'hub, event loop: Latin-1 report (standard Helvetica, metrics shared per thread)',
      run: () => measure(renderReportPdf, count, 1),
    },
    {
      name: 'hub, event loop: the same, metrics built per document (pdfkit as it comes)',
      run: () => measure((input) => renderReportPdf(input, { shareFonts: false }), count, 1),
    },
    {
      name: `hub, event loop: a name beyond Latin-1 (DejaVu Sans subset embedded; ${Math.ceil(count / 5)} renders)`,
      run: () => measure(renderReportPdf, Math.ceil(count / 5), 1, unicode),
    },
    {
      name: `hub, ${threads} PDF thread${threads === 1 ? '' : 's'} (report-pdf-pool.ts), 16 at a time: Latin-1 report`,
      run: () => measure(pool.render, count, 16),
    },
    {
      name: 'reference: pdf-lib, standard Helvetica (Latin-1 only), naive wrapping',
      run: () => measure(pdfLib, count, 1),
    },
  ];
  for (const variant of variants) await measure(variant.name.includes('thread') ? pool.render : renderReportPdf, 50, 4);
  await pdfLib(reportInput(0));
  const results = variants.map((): RenderFigures[] => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, variant] of variants.entries()) results[i]!.push(await variant.run());
  await pool.stop();
  const median = (list: RenderFigures[], key: keyof RenderFigures) =>
    [...list].map((r) => r[key]).sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  return variants.map((variant, i) => ({
    name: variant.name,
    figures: {
      perSecond: median(results[i]!, 'perSecond'),
      p50: median(results[i]!, 'p50'),
      p99: median(results[i]!, 'p99'),
      kib: median(results[i]!, 'kib'),
    },
  }));
}
