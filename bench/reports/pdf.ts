// Report PDF renders per second: the hub's renderer (documents/report-pdf.ts: pdfkit, text wrapped and laid
// out, page numbers; Helvetica for a Latin-1 report, a DejaVu Sans subset embedded for a name beyond it) beside
// pdf-lib drawing the same text in the standard Helvetica (lines wrapped by a naive width count): the floor of
// what "a PDF of this report" costs. A render runs on the event loop, so its duration is also how long it holds
// a request (FHIR or web app) that signs a report. `node bench/reports/pdf.ts` (BENCH_PDF_RENDERS=300).
import os from 'node:os';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { renderReportPdf, type ReportPdfInput } from '../../documents/report-pdf.ts';
import { machineLine, percentile, writeSection } from '../report.ts';

const renders = Number(process.env['BENCH_PDF_RENDERS'] ?? 300);
const rounds = 3;

function input(i: number, name = 'Müller, Zoë'): ReportPdfInput {
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

async function measure(render: (input: ReportPdfInput) => Promise<Uint8Array>, count = renders, name?: string) {
  const durations: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    bytes += (await render(input(i, name))).length;
    durations.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: count / seconds,
    p50: percentile(durations, 50),
    p99: percentile(durations, 99),
    kb: bytes / count / 1024,
  };
}

type Result = Awaited<ReturnType<typeof measure>>;
const median = (results: Result[], key: keyof Result) => [...results].map((r) => r[key]).sort((a, b) => a - b)[1]!;

await renderReportPdf(input(0));
await pdfLib(input(0));
const ours: Result[] = [];
const embedded: Result[] = [];
const reference: Result[] = [];
for (let round = 0; round < rounds; round++) {
  ours.push(await measure(renderReportPdf));
  embedded.push(await measure(renderReportPdf, Math.ceil(renders / 5), 'Łukasiewicz-Wiśniewska, Zoë'));
  reference.push(await measure(pdfLib));
}
const row = (name: string, results: Result[]) =>
  `| ${name} | ${median(results, 'perSecond').toFixed(0)} | ${median(results, 'p50').toFixed(1)} | ${median(results, 'p99').toFixed(1)} | ${median(results, 'kb').toFixed(0)} |`;
const ratio = median(ours, 'perSecond') / median(reference, 'perSecond');
const markdown = `## Report PDF (\`node bench/reports/pdf.ts\`)

${machineLine()}. ${renders} one-page reports (12 findings lines) rendered one after another, ${rounds} rounds alternating, medians.
A render runs on the event loop: its duration is how long a request that signs a report waits for it.

| renderer | renders/s | p50 ms | p99 ms | KiB per PDF |
| --- | --- | --- | --- | --- |
${row('hub: pdfkit, Latin-1 report (standard Helvetica), wrapped text, page n of m', ours)}
${row(`hub: pdfkit, a name beyond Latin-1 (DejaVu Sans subset embedded; ${Math.ceil(renders / 5)} renders)`, embedded)}
${row('reference: pdf-lib, standard Helvetica (Latin-1 only), naive wrapping', reference)}

The hub renders a Latin-1 report at ${ratio.toFixed(2)}× the reference's rate (goal of issue 12: ≥ 300 renders/s).
Load average during the run: ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores (the machine is shared).
`;
console.log(markdown);
await writeSection('reports-pdf', markdown);
