// A radiology report on one exam (issue 12): its states, the one table of allowed changes, and the document the
// ways in (web app JSON, FHIR DiagnosticReport, HL7 ORU^R01 from dictation) write and the ways out (ORU^R01,
// DiagnosticReport push, fax, e-mail) read. States follow FHIR R4's DiagnosticReport.status subset radiology uses
// (registered/partial left out: a dictation not yet typed is a draft here) and map one to one onto HL7 OBR-25.
import type { VersionedDoc } from './versioned.ts';

export const reportStates = ['draft', 'preliminary', 'final', 'amended', 'cancelled', 'entered-in-error'] as const;
export type ReportState = (typeof reportStates)[number];

const allowed: Readonly<Record<ReportState, readonly ReportState[]>> = {
  // A draft is the transcriber's or the radiologist's work in progress; it may be dropped (cancelled).
  draft: ['draft', 'preliminary', 'final', 'cancelled'],
  // A preliminary (wet read) may be revised as often as needed before it is signed final.
  preliminary: ['preliminary', 'final', 'cancelled', 'entered-in-error'],
  // A final report is never edited in place: it is amended (addendum, correction) or withdrawn as an error.
  final: ['amended', 'entered-in-error'],
  amended: ['amended', 'entered-in-error'],
  cancelled: [],
  'entered-in-error': [],
};

export function isReportState(value: unknown): value is ReportState {
  return typeof value === 'string' && (reportStates as readonly string[]).includes(value);
}

/** undefined when the change is allowed, else the reason it is not (for the 409/422 or the AR's ERR text). */
export function reportRefusal(from: ReportState, to: ReportState): string | undefined {
  if (allowed[from].includes(to)) return undefined;
  if (allowed[from].length === 0) return `a ${from} report is not changed any more`;
  if (to === 'amended') return `only a final report is amended; this one is ${from}`;
  return `from ${from} the report may only become ${allowed[from].join(', ')}`;
}

/** A file that came with the report or was rendered for it, kept under the data dir (reports/<id>/...). */
export interface ReportAttachment {
  /** Stable within the report: `rendered-<version>.pdf` for the hub's own PDF, else the upload's id. */
  id: string;
  contentType: 'application/pdf' | 'image/tiff' | 'image/jpeg' | 'text/plain';
  /** What the file is, for a person: "Signed report", the uploaded file's name. */
  title: string;
  size: number;
  /** Lower-case hex SHA-256 of the bytes, checked when the file is served. */
  sha256: string;
  /** Relative to the data dir. */
  path: string;
  /** The hub rendered it (from findings and impression) rather than someone uploading a scan. */
  rendered: boolean;
  createdAt: string;
}

/** A person on the report: a radiologist or transcriber id from the facility's staff lists, with the name shown. */
export interface ReportPerson {
  id: string;
  name?: string;
}

/** `_id` is the hub's report id: the DiagnosticReport id and what ORU^R01 carries as the report's filler id. */
export interface Report extends VersionedDoc {
  examNumber: string;
  facility: string;
  patientId: string;
  state: ReportState;
  findings?: string;
  impression?: string;
  author?: ReportPerson;
  transcriber?: ReportPerson;
  /** When the radiologist signed the report final (or the amendment), ISO 8601 UTC. */
  signedAt?: string;
  /** Identifiers the sender gave (a dictation system's report id, a DiagnosticReport.identifier). */
  identifiers: Array<{ system: string; value: string }>;
  attachments: ReportAttachment[];
  /** The attachment a facility receives: the uploaded scan if there is one, else the rendered PDF. */
  documentId?: string;
  /** Why it was amended, cancelled or marked entered-in-error. */
  reason?: string;
  /**
   * The exam step of the last change, written with the report and removed once the exam shows it: a report and
   * its exam are two documents, so a crash between the two writes leaves this behind, and the service's start
   * (report-exam-sync.ts) finishes the exam step. Readers of the report ignore it.
   */
  pendingExam?: PendingExamStep;
}

/** What the exam must show for a report change (report-exam-sync.ts). */
export interface PendingExamStep {
  /** The report version whose change this is; the exam's ref records it, so applying twice changes nothing. */
  reportVersion: number;
  state: ReportState;
  /** The exam status the change moves the exam to, when it moves it. */
  examStatus?: string;
  author?: string;
  at: string;
  by: { actor: string; via: string; messageId?: string };
}
