// The radiology report as a PDF (issue 12): facility, patient, exam, findings, impression, the signing
// radiologist, an AMENDED banner when it replaces an earlier report, and "page n of m" on every page. pdfkit
// lays out and wraps the text, so pdftotext (and a facility's EHR) can read it back. Fonts: PDF's standard
// Helvetica (not embedded) when every character is in its WinAnsi encoding (Latin-1 and the cp1252
// punctuation: "Zoë", "–"), else DejaVu Sans (fonts-dejavu-core), embedded as a subset, for names such as
// "Łukasiewicz". An embedded font costs several times the render time (fontkit lays out every line with the
// font's tables: BENCHMARKS.md, reports), so it is used only when a report needs it. Without DejaVu
// installed, such characters become "?". Plain inputs in, bytes out: no exam, store or transport here.
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { shareStandardFonts } from './standard-fonts.ts';

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

/** What Helvetica can show: PDF 1.7 Annex D WinAnsiEncoding (Latin-1 printable and cp1252's punctuation). */
const winAnsi = /^[\t\n\r\x20-\x7e\xa0-\xff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]*$/;
const helvetica = { regular: 'Helvetica', bold: 'Helvetica-Bold' };

/** A font as pdfkit takes it: a file's bytes, or the fontkit font it parsed them into (pdfkit 0.20 `open`). */
type FontSource = Buffer;

let dejaVu: { regular: FontSource; bold: FontSource } | null | undefined;

/**
 * Read and parsed once per process (null when not installed). pdfkit parses a font's bytes again for every
 * document, and fontkit's parse and its glyph caches are most of an embedded-font render (about ten times the
 * rest), so the parsed font is taken from a first document and handed to the next ones: pdfkit 0.20 accepts a
 * fontkit font (anything with `layout`) in place of bytes. If a later pdfkit hides it, the bytes still work.
 */
function loadDejaVu(): { regular: FontSource; bold: FontSource } | null {
  if (dejaVu !== undefined) return dejaVu;
  try {
    const parsed = (file: string): FontSource => {
      const bytes = readFileSync(`${fontDir}/${file}`);
      const probe = new PDFDocument({ autoFirstPage: false }).font(bytes);
      const font = (probe as unknown as { _font?: { font?: { layout?: unknown } } })._font?.font;
      return typeof font?.layout === 'function' ? (font as unknown as FontSource) : bytes;
    };
    dejaVu = { regular: parsed('DejaVuSans.ttf'), bold: parsed('DejaVuSans-Bold.ttf') };
  } catch {
    dejaVu = null;
  }
  return dejaVu;
}

/**
 * The fonts for this report by the names `doc.font()` takes, and how text must be cut down to what they can show.
 * The standard fonts go by their own names: pdfkit caches a font under the name it is asked by, and an alias of
 * its default font (Helvetica) would miss that cache and build the font again at every `font()` call.
 */
function fontsFor(input: ReportPdfInput) {
  const unicode = winAnsi.test(textOf(input)) ? null : loadDejaVu();
  if (unicode === null)
    return {
      ...helvetica,
      embedded: null,
      text: (value: string) => [...value].map((c) => (winAnsi.test(c) ? c : '?')).join(''),
    };
  return { regular: 'body', bold: 'bold', embedded: unicode, text: (value: string) => value };
}

function textOf(input: ReportPdfInput): string {
  return [
    input.facilityName,
    input.patient.name,
    input.patient.id,
    input.examNumber,
    input.accession,
    input.procedure,
    input.findings,
    input.impression,
    input.radiologist,
    input.transcriber,
    input.reason,
    input.reportId,
  ].join('\n');
}

export interface RenderOptions {
  /** Standard font metrics built once per thread (standard-fonts.ts); default true. */
  shareFonts?: boolean;
}

export function renderReportPdf(input: ReportPdfInput, options: RenderOptions = {}): Promise<Buffer> {
  const { regular, bold, embedded, text } = fontsFor(input);
  const doc = new PDFDocument({
    size: 'A4',
    margin,
    bufferPages: true,
    font: '',
    info: { Title: text(`Radiology report ${input.examNumber}`), Creator: 'rso-hub', Producer: 'rso-hub (pdfkit)' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  if (embedded !== null) {
    doc.registerFont(regular, embedded.regular);
    doc.registerFont(bold, embedded.bold);
  } else if (options.shareFonts !== false) shareStandardFonts(doc, [regular, bold]);
  doc.font(regular);
  const width = doc.page.width - 2 * margin;

  doc.font(bold).fontSize(16).text(text(input.facilityName), { width });
  doc.font(regular).fontSize(11).fillColor('#444').text('Radiology report', { width });
  doc.fillColor('black').moveDown(0.5);
  if (input.amended) banner(doc, bold, text(`AMENDED REPORT${input.reason ? `: ${input.reason}` : ''}`), width);
  else if (input.state !== 'final') banner(doc, bold, text(`${input.state.toUpperCase()} REPORT`), width);

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
    doc.font(bold).fontSize(10).text(`${label}:`, margin, y, { width: 110 });
    doc.font(regular).text(text(value), margin + 115, y, { width: width - 115 });
    doc.x = margin;
  }
  doc.moveDown(1);
  section(doc, { regular, bold }, 'Findings', text(input.findings ?? '(none)'), width);
  section(doc, { regular, bold }, 'Impression', text(input.impression ?? '(none)'), width);

  doc.moveDown(1).font(regular).fontSize(10);
  if (input.radiologist)
    doc.text(text(`Signed by ${input.radiologist}${input.signedAt ? ` on ${moment(input.signedAt)}` : ''}`), {
      width,
    });
  if (input.transcriber) doc.text(text(`Transcribed by ${input.transcriber}`), { width });
  doc.fillColor('#666').text(`Report ${input.reportId}, version ${input.version}`, { width });
  pageNumbers(doc, regular, text(`${input.examNumber} · ${input.patient.name}`));
  doc.end();
  return done;
}

function banner(doc: PDFKit.PDFDocument, bold: string, label: string, width: number): void {
  const y = doc.y;
  doc.rect(margin, y, width, 24).fill('#b00020');
  doc
    .fillColor('white')
    .font(bold)
    .fontSize(12)
    .text(label, margin + 8, y + 6, { width: width - 16, height: 14 });
  doc.fillColor('black');
  doc.x = margin;
  doc.y = y + 32;
}

interface Fonts {
  regular: string;
  bold: string;
}

function section(doc: PDFKit.PDFDocument, fonts: Fonts, title: string, body: string, width: number): void {
  doc.font(fonts.bold).fontSize(12).text(title, { width });
  doc.moveDown(0.2).font(fonts.regular).fontSize(11).text(body, { width, lineGap: 2 });
  doc.moveDown(1);
}

/** "Page n of m" and a short header on every page, drawn once the page count is known (bufferPages). */
function pageNumbers(doc: PDFKit.PDFDocument, regular: string, footer: string): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Writing below the bottom margin would start a new page: the margin is lifted while the footer is drawn.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font(regular)
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
