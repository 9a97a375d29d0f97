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
      (bytes) => port.postMessage({ ok: true, bytes } satisfies PdfReply),
      (error: unknown) =>
        port.postMessage({
          ok: false,
          error: error instanceof Error ? error.message : String(error),
        } satisfies PdfReply),
    );
  });
}
