// The document a facility receives for a report, read for delivery by fax or e-mail through the report service
// (exams/report-service.ts `document`: the attachment `documentId` names, checked against its size and SHA-256, so
// a file changed or cut on disk is never faxed as the signed report). What is not there yet (a report not stored,
// no document, a missing file) is worth a retry; a file that does not match its record never will be.
import { ExamError } from '../exams/errors.ts';
import type { Report, ReportAttachment } from '../exams/report.ts';
import type { ExamService } from '../exams/service.ts';
import { errorText } from '../runtime/log.ts';

export interface ReportDocument {
  report: Report;
  attachment: ReportAttachment;
  bytes: Buffer;
}

export class ReportDocumentError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.name = 'ReportDocumentError';
    this.permanent = permanent;
  }
}

export async function loadReportDocument(exams: ExamService, reportId: string): Promise<ReportDocument> {
  try {
    return await exams.reports.document(reportId);
  } catch (error) {
    const missingFile = (error as { code?: unknown } | null)?.code === 'ENOENT';
    throw new ReportDocumentError(errorText(error), !(error instanceof ExamError) && !missingFile);
  }
}
