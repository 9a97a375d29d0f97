// The report ways out: the `report-oru` (HL7 ORU^R01 over MLLP) and `fhir-report-push` (DiagnosticReport)
// destinations, reading reports from the report service (ExamService.reports) through the two reads they need.
// Here because the destinations live in two protocol folders that must not know each other.
import type { ChannelRegistry } from '../channels/registry.ts';
import type { ReportReader } from '../exams/report-reader.ts';
import type { ExamService } from '../exams/service.ts';
import { reportPushDestinationType } from '../fhir/report-push-destination.ts';
import { reportOruDestinationType } from '../hl7/report-oru-destination.ts';

export function reportReaderOf(exams: ExamService): ReportReader {
  return {
    report: (id) => exams.reports.get(id),
    document: async (report) => {
      if (report.documentId === undefined) return undefined;
      // The service checks the file against its size and SHA-256 before it hands the bytes out.
      const { attachment, bytes } = await exams.reports.documentOf(report);
      return { attachment, bytes: Buffer.from(bytes) };
    },
  };
}

export function registerReportDestinations(registry: ChannelRegistry, exams: ExamService): void {
  const deps = { exams, reports: reportReaderOf(exams) };
  registry.addDestination(reportOruDestinationType(deps));
  registry.addDestination(reportPushDestinationType(deps));
}
