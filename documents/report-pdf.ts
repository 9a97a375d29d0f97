// The radiology report as a PDF (issue 12): facility, patient, exam, findings, impression, the signing
// radiologist, an AMENDED banner when it replaces an earlier report, and "page n of m" on every page. pdfkit
// lays out and wraps the text and embeds a subset of the font, so pdftotext (and a facility's EHR) can read
// it back. DejaVu Sans covers names PDF's standard fonts cannot show (Latin-1 only: "Zoë" yes, "Łukasz" or
// "王" no); without it (fonts-dejavu-core not installed) the standard Helvetica is used and such characters
// become "?". Plain inputs in, bytes out: this folder knows no exam, store or transport.
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';

export interface ReportPdfInput {
  facilityName: string;
  patient: { name: string; id: string; birthDate?: string };
  examNumber: string;
  accession?: string;
  procedure: string;
  orderedAt?: string;
  studyDate?: string;
  state: string;
  findings?: string;
  impression?: string;
  radiologist?: string;
  transcriber?: string;
  signedAt?: string;
  amended: boolean;
  reason?: string;
  reportId: string;
  version: number;
}

const fontDir = '/usr/share/fonts/truetype/dejavu';
const margin = 56;

interface Fonts {
  regular: string | Buffer;
  bold: string | Buffer;
  /** The fonts cover Latin-1 only: other characters are replaced before they reach the PDF. */
  latin1Only: boolean;
}

let fonts: Fonts | undefined;

/** Read once per process: each render then embeds its subset without touching the disk. */
function loadFonts(): Fonts {
  if (fonts !== undefined) return fonts;
  try {
    fonts = {
      regular: readFileSync(`${fontDir}/DejaVuSans.ttf`),
      bold: readFileSync(`${fontDir}/DejaVuSans-Bold.ttf`),
      latin1Only: false,
    };
  } catch {
    fonts = { regular: 'Helvetica', bold: 'Helvetica-Bold', latin1Only: true };
  }
  return fonts;
}

export function renderReportPdf(input: ReportPdfInput): Promise<Buffer> {
  const { regular, bold, latin1Only } = loadFonts();
  const text = (value: string): string => (latin1Only ? value.replace(/[^\n\r\t\x20-\x7e\xa0-\xff]/g, '?') : value);
  const doc = new PDFDocument({
    size: 'A4',
    margin,
    bufferPages: true,
    info: { Title: text(`Radiology report ${input.examNumber}`), Creator: 'rso-hub', Producer: 'rso-hub (pdfkit)' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('body', regular);
  doc.registerFont('bold', bold);
  const width = doc.page.width - 2 * margin;

  doc.font('bold').fontSize(16).text(text(input.facilityName), { width });
  doc.font('body').fontSize(11).fillColor('#444').text('Radiology report', { width });
  doc.fillColor('black').moveDown(0.5);
  if (input.amended) banner(doc, text(`AMENDED REPORT${input.reason ? `: ${input.reason}` : ''}`), width);
  else if (input.state !== 'final') banner(doc, text(`${input.state.toUpperCase()} REPORT`), width);

  const rows: Array<[string, string | undefined]> = [
    ['Patient', input.patient.name],
    ['Patient ID', input.patient.id],
    ['Birth date', input.patient.birthDate],
    ['Exam number', input.examNumber],
    ['Accession', input.accession],
    ['Procedure', input.procedure],
    ['Ordered', day(input.orderedAt)],
    ['Study date', input.studyDate],
  ];
  for (const [label, value] of rows) {
    if (value === undefined || value === '') continue;
    const y = doc.y;
    doc.font('bold').fontSize(10).text(`${label}:`, margin, y, { width: 110 });
    doc.font('body').text(text(value), margin + 115, y, { width: width - 115 });
    doc.x = margin;
  }
  doc.moveDown(1);
  section(doc, 'Findings', text(input.findings ?? '(none)'), width);
  section(doc, 'Impression', text(input.impression ?? '(none)'), width);

  doc.moveDown(1).font('body').fontSize(10);
  if (input.radiologist)
    doc.text(text(`Signed by ${input.radiologist}${input.signedAt ? ` on ${moment(input.signedAt)}` : ''}`), {
      width,
    });
  if (input.transcriber) doc.text(text(`Transcribed by ${input.transcriber}`), { width });
  doc.fillColor('#666').text(`Report ${input.reportId}, version ${input.version}`, { width });
  pageNumbers(doc, text(`${input.examNumber} · ${input.patient.name}`));
  doc.end();
  return done;
}

function banner(doc: PDFKit.PDFDocument, label: string, width: number): void {
  const y = doc.y;
  doc.rect(margin, y, width, 24).fill('#b00020');
  doc
    .fillColor('white')
    .font('bold')
    .fontSize(12)
    .text(label, margin + 8, y + 6, { width: width - 16, height: 14 });
  doc.fillColor('black');
  doc.x = margin;
  doc.y = y + 32;
}

function section(doc: PDFKit.PDFDocument, title: string, body: string, width: number): void {
  doc.font('bold').fontSize(12).text(title, { width });
  doc.moveDown(0.2).font('body').fontSize(11).text(body, { width, lineGap: 2 });
  doc.moveDown(1);
}

/** "Page n of m" and a short header on every page, drawn once the page count is known (bufferPages). */
function pageNumbers(doc: PDFKit.PDFDocument, footer: string): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Writing below the bottom margin would start a new page: the margin is lifted while the footer is drawn.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font('body')
      .fontSize(8)
      .fillColor('#666')
      .text(`${footer}   Page ${i + 1} of ${range.count}`, margin, doc.page.height - 36, {
        width: doc.page.width - 2 * margin,
        align: 'center',
        lineBreak: false,
      });
    doc.page.margins.bottom = bottom;
  }
}

function day(iso: string | undefined): string | undefined {
  return iso?.slice(0, 10);
}

/** ISO 8601 UTC as "2026-03-04 09:15 UTC": the reader should not have to parse a T and a Z. */
function moment(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
