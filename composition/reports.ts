// The report part's wiring: the exam domain renders a final or amended report's PDF through documents/ (which
// exams/ may not import: a floor below it, a concept of its own), on the PDF threads (report-pdf-pool.ts) so a
// render never holds the event loop. The routes of the report API are mounted in http-api.ts beside the other
// /api routers.
import type { HubConfig } from '../config/hub-config.ts';
import { ReportPdfPool } from '../documents/report-pdf-pool.ts';
import type { ExamService } from '../exams/service.ts';
import type { Lifecycle } from '../runtime/lifecycle.ts';

export function wireReports(exams: ExamService, config: HubConfig['reports'], parts: Lifecycle): ReportPdfPool {
  // Not started here: the threads start with the first render (pdfkit loads in ~100 ms), as they end when idle.
  const pool = new ReportPdfPool({ threads: config.pdfThreads, maxQueued: config.pdfMaxQueued });
  // Added before the exam service, so it stops after it: a signing under way still gets its PDF.
  parts.add('report-pdf', pool);
  exams.reports.renderWith(pool.render);
  return pool;
}
