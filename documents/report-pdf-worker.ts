// The thread side of report-pdf-pool.ts: renders one report at a time with report-pdf.ts, the function the hub
// ran on its event loop before, so a thread's PDF is the same file. Font metrics and the DejaVu font are built
// once per thread (standard-fonts.ts, report-pdf.ts) and reused by every report it renders.
import { parentPort } from 'node:worker_threads';
import type { PdfReply } from './report-pdf-pool.ts';
import { renderReportPdf, type ReportPdfInput } from './report-pdf.ts';

if (parentPort) {
  const port = parentPort;
  port.on('message', (input: ReportPdfInput) => {
    renderReportPdf(input).then(
      (pdf) => {
        // A copy of its own, moved rather than cloned: the PDF's bytes may sit in a larger shared allocation.
        const bytes = new Uint8Array(pdf);
        port.postMessage({ ok: true, bytes } satisfies PdfReply, [bytes.buffer]);
      },
      (error: unknown) =>
        port.postMessage({
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        } satisfies PdfReply),
    );
  });
}
