// The report part's wiring: the exam domain renders a final or amended report's PDF through documents/ (which
// exams/ may not import: a floor below it, a concept of its own). The routes of the report API are mounted in
// http-api.ts beside the other /api routers.
import { renderReportPdf } from '../documents/report-pdf.ts';
import type { ExamService } from '../exams/service.ts';

export function wireReports(exams: ExamService): void {
  exams.reports.renderWith(renderReportPdf);
}
