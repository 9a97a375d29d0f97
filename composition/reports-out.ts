// The report ways out: the `report-oru` (HL7 ORU^R01 over MLLP) and `fhir-report-push` (DiagnosticReport)
// destinations, reading reports through one ReportReader. Here because the destinations live in two protocol
// folders and the reader needs the store and the data dir, which only the composition root holds. A registry
// built only to check definitions gets a reader that refuses to read.
import type { ChannelRegistry } from '../channels/registry.ts';
import type { ReportReader } from '../exams/report-reader.ts';
import type { ExamService } from '../exams/service.ts';
import { reportPushDestinationType } from '../fhir/report-push-destination.ts';
import { reportOruDestinationType } from '../hl7/report-oru-destination.ts';

const notWired: ReportReader = {
  report: () => Promise.reject(new Error('this registry only checks definitions: reports are not wired')),
  document: () => Promise.reject(new Error('this registry only checks definitions: reports are not wired')),
};

export function registerReportDestinations(
  registry: ChannelRegistry,
  exams: ExamService,
  reports?: ReportReader,
): void {
  const deps = { exams, reports: reports ?? notWired };
  registry.addDestination(reportOruDestinationType(deps));
  registry.addDestination(reportPushDestinationType(deps));
}
