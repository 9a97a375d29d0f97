// What the ways out read of a report: the report document and the file the facility receives. A small interface
// so the destinations (hl7/report-oru-destination.ts, fhir/report-push-destination.ts) depend on two reads, not on
// the report service's commands; composition/reports-out.ts answers it from ExamService.reports.
import type { Report, ReportAttachment } from './report.ts';

export interface ReportReader {
  report(id: string): Promise<Report | undefined>;
  /** The attachment `report.documentId` names, with its bytes; undefined when the report has none. */
  document(report: Report): Promise<{ attachment: ReportAttachment; bytes: Buffer } | undefined>;
}
