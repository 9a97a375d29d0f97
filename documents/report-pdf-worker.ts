// The thread side of report-pdf-pool.ts: renders one report at a time with report-pdf.ts, the function the hub
// ran on its event loop before, so a thread's PDF is the same file; given a file, it also creates that file
// durably (report-pdf-file.ts) before it answers. Font metrics and the DejaVu font are built once per thread
// (standard-fonts.ts, report-pdf.ts) and reused by every report it renders.
import { parentPort } from 'node:worker_threads';
import type { PdfJob, PdfReply } from './report-pdf-pool.ts';
import { renderReportPdf } from './report-pdf.ts';
import { renderReportPdfFile } from './report-pdf-file.ts';

if (parentPort) {
  const port = parentPort;
  // Jobs come in while earlier ones' files are still being written: each answers when its own is done.
  port.on('message', ({ id, input, file }: PdfJob) => {
    // From a promise, so a render that throws at once fails its own job instead of the thread and all it holds.
    Promise.resolve(input)
      .then((report) => (file === undefined ? renderReportPdf(report) : renderReportPdfFile(report, file)))
      .then(
        (pdf) => {
          // A copy of its own, moved rather than cloned: the PDF's bytes may sit in a larger shared allocation.
          const bytes = new Uint8Array(pdf);
          port.postMessage({ id, ok: true, bytes } satisfies PdfReply, [bytes.buffer]);
        },
        (error: unknown) =>
          port.postMessage({
            id,
            ok: false,
            error: error instanceof Error ? error.message : String(error),
          } satisfies PdfReply),
      );
  });
}
