// What a report destination needs before it sends anything: the `report.issued` event the report channel carries,
// the report as it is NOW, and its exam, patient and facility. Deliveries are queued, so by the time one is tried
// the report may have moved on; a destination sends the report's current content, and only for an event whose
// state is still the report's state. A final whose report has since been amended is superseded: the amendment's
// own event goes out (marked corrected), and the stale final content never leaves the hub again.
import type { Exam } from './exam.ts';
import type { Facility } from './facility.ts';
import type { Patient } from './patient.ts';
import type { Report, ReportState } from './report.ts';
import { isReportState } from './report.ts';
import type { ReportReader } from './report-reader.ts';
import type { ExamService } from './service.ts';

export interface IssuedReport {
  report: Report;
  exam: Exam;
  patient: Patient;
  facility: Facility;
  /** The state the event announced (the report's current state too, or the event is superseded). */
  state: ReportState;
}

export type IssuedReportLookup =
  | { kind: 'deliver'; issued: IssuedReport }
  /** Nothing to send for this event, and nothing wrong: why, for the message browser. */
  | { kind: 'skip'; reason: string }
  /** The event or what it names is broken; retrying will not help. */
  | { kind: 'failed'; error: string }
  /** Something it names is not there yet (a replica behind, a PDF still rendering): try again later. */
  | { kind: 'retry'; error: string };

export interface ReportDeliveryDeps {
  exams: Pick<ExamService, 'get' | 'facilities' | 'patients'>;
  reports: ReportReader;
}

interface IssuedEvent {
  reportId: string;
  state: ReportState;
  facility?: string;
}

/** The event as the channel carries it (exams/outbox.ts ExamEvent, JSON); a string says what is wrong. */
export function issuedEventOf(content: string): IssuedEvent | string {
  let event: unknown;
  try {
    event = JSON.parse(content);
  } catch {
    return 'content is not JSON (expected a report.issued event)';
  }
  if (typeof event !== 'object' || event === null) return 'content is not an exam event object';
  const { type, data, facility } = event as {
    type?: unknown;
    data?: { reportId?: unknown; state?: unknown };
    facility?: unknown;
  };
  if (type !== 'report.issued') return `type: expected report.issued, got ${JSON.stringify(type)}`;
  if (typeof data?.reportId !== 'string' || data.reportId === '') return 'data.reportId: missing in the event';
  if (!isReportState(data.state)) return `data.state: ${JSON.stringify(data.state)} is not a report state`;
  return { reportId: data.reportId, state: data.state, ...(typeof facility === 'string' ? { facility } : {}) };
}

/** Reads what the event names; `deliverable` are the states this destination sends (others are skipped). */
export async function lookUpIssuedReport(
  deps: ReportDeliveryDeps,
  content: string,
  deliverable: readonly ReportState[],
): Promise<IssuedReportLookup> {
  const event = issuedEventOf(content);
  if (typeof event === 'string') return { kind: 'failed', error: event };
  if (!deliverable.includes(event.state))
    return { kind: 'skip', reason: `a ${event.state} report is not sent to this destination` };
  const report = await deps.reports.report(event.reportId);
  if (report === undefined) return { kind: 'failed', error: `report ${event.reportId} is not in the store` };
  if (report.state !== event.state)
    return {
      kind: 'skip',
      reason: `superseded: report ${report._id} is ${report.state} now (version ${report.version}), and that change is delivered by its own event`,
    };
  const exam = await deps.exams.get(report.examNumber);
  if (exam === undefined)
    return { kind: 'failed', error: `exam ${report.examNumber} of report ${report._id} is not known` };
  const facility = await deps.exams.facilities.get(report.facility);
  if (facility === undefined) return { kind: 'failed', error: `facility ${report.facility} is not known` };
  // A patient merged since the order is reported under the survivor, whose identifiers the EHR now files.
  const patient = await deps.exams.patients.resolve(exam.patientId).catch(() => undefined);
  if (patient === undefined)
    return { kind: 'failed', error: `patient ${exam.patientId} of exam ${exam.examNumber} is not known` };
  return { kind: 'deliver', issued: { report, exam, patient, facility, state: event.state } };
}
