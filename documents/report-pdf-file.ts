// A report's PDF rendered and kept: the bytes of report-pdf.ts created durably as the report's file before the
// promise resolves (runtime/create-durably.ts), so the caller may name the file in the report's document at once.
// The PDF threads run this (report-pdf-worker.ts), which keeps the file's writes and syncs off the event loop
// that serves requests; a hub without threads (tests, a small tool) may call it on the event loop.
import { createDurably } from '../runtime/create-durably.ts';
import { renderReportPdf, type ReportPdfInput } from './report-pdf.ts';

/** Where the file goes: under `root` (the data dir) at `relative`, a name no file has yet. */
export interface ReportPdfFile {
  root: string;
  relative: string;
}

export async function renderReportPdfFile(input: ReportPdfInput, file: ReportPdfFile): Promise<Buffer> {
  const pdf = await renderReportPdf(input);
  await createDurably(file.root, file.relative, pdf);
  return pdf;
}
