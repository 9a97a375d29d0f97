// A one-page PDF of plain text, for faxes whose content is a short notice (technician dispatch) rather than a
// rendered report: a fax gateway takes a document, not a string. Helvetica's WinAnsi encoding (PDF 1.7 D.2) has
// no glyph for most characters past Latin-1, so those are replaced rather than failing the fax. pdf-lib is loaded
// on first use.
const lineHeight = 16;
const margin = 56;

export async function textPdf(title: string, text: string): Promise<Buffer> {
  const { PDFDocument, StandardFonts } = await import('pdf-lib');
  const document = await PDFDocument.create();
  document.setTitle(winAnsi(title));
  // Fixed dates, so the same notice renders to the same bytes.
  document.setCreationDate(new Date(0));
  document.setModificationDate(new Date(0));
  const font = await document.embedFont(StandardFonts.Helvetica);
  const bold = await document.embedFont(StandardFonts.HelveticaBold);
  const page = document.addPage([612, 792]);
  let y = 792 - margin;
  page.drawText(winAnsi(title), { x: margin, y, size: 16, font: bold });
  y -= lineHeight * 2;
  for (const line of text.split('\n')) {
    if (y < margin) break;
    page.drawText(winAnsi(line), { x: margin, y, size: 12, font });
    y -= lineHeight;
  }
  return Buffer.from(await document.save());
}

function winAnsi(text: string): string {
  return text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
}
