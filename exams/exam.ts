// The exam: one imaging procedure for one patient at one facility, read by the RSO. Its id is the hub's exam
// number; every number other systems gave it (HL7 placer/filler order numbers, the DICOM accession number,
// FHIR identifiers) is kept as an identifier, so a message in any protocol finds the same exam.
import { InvalidInputError } from './errors.ts';
import type { ExamStatus } from './lifecycle.ts';
import type { ReportState } from './report.ts';
import type { Concept, PatientInput } from './patient.ts';
import type { VersionedDoc } from './versioned.ts';

export const priorities = ['stat', 'asap', 'urgent', 'routine'] as const;
export type Priority = (typeof priorities)[number];

export const identifierKinds = ['placer', 'filler', 'accession', 'external'] as const;
export type ExamIdentifierKind = (typeof identifierKinds)[number];

export interface ExamIdentifier {
  /** placer: HL7 ORC-2/OBR-2; filler: ORC-3/OBR-3; accession: DICOM (0008,0050); external: any other, with a system. */
  kind: ExamIdentifierKind;
  value: string;
  /** The namespace (HL7 EI-2 or a FHIR Identifier.system); required for `external`. */
  system?: string;
}

export interface Procedure {
  code: string;
  /** What the requester wrote (FHIR CodeableConcept.text). */
  text?: string;
  /** The code system's name for the code (FHIR Coding.display, HL7 CE-2). */
  display?: string;
  /** The code system as a URI (identity-systems.ts), e.g. the facility's charge master or http://loinc.org. */
  system?: string;
  /**
   * The kind of service the procedure is (FHIR ServiceRequest.category, HL7 OBR-24 diagnostic service section):
   * kept with the procedure because it classifies it, and an order that replaces the procedure replaces it too.
   */
  category?: Concept[];
}

export interface StudyRef {
  studyInstanceUid: string;
  accessionNumber?: string;
  modality?: string;
  instanceCount?: number;
  /** The calling AE title the study came from. */
  sourceAeTitle?: string;
  /** (0008,0020) Study Date as YYYY-MM-DD: the late-order merge compares it with the order's date. */
  studyDate?: string;
  seriesCount?: number;
  receivedAt: string;
  /** When the study was last found complete (no new instance for the quiet time). */
  completedAt?: string;
}

export interface ReportRef {
  /** The report's id in the `reports` collection (= the DiagnosticReport id). */
  id: string;
  status: ReportState;
  /** The report version the ref shows (report-exam-sync.ts applies a change once). */
  reportVersion?: number;
  issuedAt: string;
  author?: string;
  location?: string;
}

export interface Exam extends VersionedDoc {
  examNumber: string;
  identifiers: ExamIdentifier[];
  /**
   * Unique keys of the identifiers (see identifierKeyOf) under a unique sparse index, so two processes cannot
   * give one placer number two exams. Absent (not empty) when there are none: MongoDB indexes an empty array
   * like a missing value, and a unique index would let only one exam be without identifiers.
   */
  identifierKeys?: string[];
  facility: string;
  patientId: string;
  procedure: Procedure;
  modality?: string;
  priority: Priority;
  /** 0 = stat … 3 = routine: stored so that lists can sort by urgency in the store. */
  priorityRank: number;
  scheduledAt?: string;
  /** When the order was placed (HL7 ORC-9, FHIR authoredOn), ISO 8601 UTC; createdAt is when the hub got it. */
  authoredOn?: string;
  reason?: string;
  status: ExamStatus;
  technicianId?: string;
  /** Technician dispatch (dispatch-commands.ts): when the responsible technician acknowledged the exam. */
  acknowledgedAt?: string;
  /** How often dispatch escalated the exam to the next technician for want of an acknowledgement. */
  escalations?: number;
  radiologistId?: string;
  studies: StudyRef[];
  reports: ReportRef[];
  /**
   * Set on an exam the hub created because images arrived with no matching order (DICOM integration process,
   * no match); the order that arrives later is merged into it (ExamService.createOrder) and clears the flag.
   */
  awaitingOrder?: boolean;
  /**
   * `facility|patientId` while `awaitingOrder` is set (see lateOrderKeyOf), under a sparse index: every new
   * order looks for such an exam, and one equality on one indexed field is the cheapest read the store has
   * (a filter on facility, patient, flag and status made it weigh three indexes and compile a query per order).
   */
  lateOrderKey?: string;
  /**
   * Why the exam is on the technician's exception list although it is not reactivated (lists.ts): e.g. images
   * whose PatientID has the form of an exam number that does not exist, which made this exam instead.
   */
  exception?: { reason: string; at: string };
}

export type PatientRef = { id: string } | PatientInput;

export interface OrderInput {
  facility: string;
  patient: PatientRef;
  identifiers?: ExamIdentifier[];
  procedure: Procedure;
  modality?: string;
  priority?: Priority;
  /** ISO 8601 date-time. */
  scheduledAt?: string;
  /** ISO 8601 date-time with a zone: when the order was placed (see Exam.authoredOn). */
  authoredOn?: string;
  reason?: string;
  technicianId?: string;
  radiologistId?: string;
  /**
   * `images`: the exam is created for images that matched no order (it waits for its order, see
   * Exam.awaitingOrder). Default `order`: a real order, which may be merged into such an exam.
   */
  origin?: 'order' | 'images';
  /** Puts the new exam on the exception list with this reason (Exam.exception). */
  exception?: string;
}

/** updateOrder: only the keys present change; `null` clears an optional field. */
export interface OrderChanges {
  procedure?: Procedure;
  modality?: string | null;
  priority?: Priority;
  scheduledAt?: string | null;
  reason?: string | null;
  technicianId?: string | null;
  radiologistId?: string | null;
  /** Added to the exam's identifiers (an identifier is never removed: old messages must still find the exam). */
  identifiers?: ExamIdentifier[];
  patientId?: string;
}

export function priorityRank(priority: Priority): number {
  return priorities.indexOf(priority);
}

/** Placer, filler and accession numbers are unique within a facility; external ones within their system. */
export function identifierKeyOf(facility: string, id: ExamIdentifier): string {
  return id.kind === 'external'
    ? `${facility}|external|${id.system ?? ''}|${id.value}`
    : `${facility}|${id.kind}|${id.value}`;
}

/** The key under which an exam made from images waits for its order (Exam.lateOrderKey). */
export function lateOrderKeyOf(facility: string, patientId: string): string {
  return `${facility}|${patientId}`;
}

export function checkIdentifiers(ids: readonly ExamIdentifier[], at = 'identifiers'): ExamIdentifier[] {
  return ids.map((id, i) => {
    const path = `${at}[${i}]`;
    if (!(identifierKinds as readonly string[]).includes(id.kind))
      throw new InvalidInputError(`${path}.kind`, `expected one of ${identifierKinds.join(', ')}`);
    if (typeof id.value !== 'string' || id.value.trim() === '')
      throw new InvalidInputError(`${path}.value`, 'the identifier value is empty');
    if (id.kind === 'external' && !id.system)
      throw new InvalidInputError(`${path}.system`, 'an external identifier needs its system');
    return id.system === undefined
      ? { kind: id.kind, value: id.value.trim() }
      : { kind: id.kind, value: id.value.trim(), system: id.system };
  });
}

export function checkProcedure(procedure: Procedure | undefined, at = 'procedure'): Procedure {
  if (!procedure || typeof procedure.code !== 'string' || procedure.code.trim() === '')
    throw new InvalidInputError(`${at}.code`, 'the procedure code is required');
  const checked: Procedure = { code: procedure.code.trim() };
  if (procedure.text) checked.text = procedure.text;
  if (procedure.display) checked.display = procedure.display;
  if (procedure.system) checked.system = procedure.system;
  const category = (procedure.category ?? []).filter((c) => c.code || c.text);
  if (category.length > 0) checked.category = category.map((c) => ({ ...c }));
  return checked;
}

export function checkPriority(priority: string | undefined, at = 'priority'): Priority {
  if (priority === undefined) return 'routine';
  if (!(priorities as readonly string[]).includes(priority))
    throw new InvalidInputError(at, `expected one of ${priorities.join(', ')}, got "${priority}"`);
  return priority as Priority;
}

/** ISO 8601 with a time zone, normalised to UTC so that stored values sort as strings. */
export function checkDateTime(value: string, at: string): string {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    throw new InvalidInputError(at, `expected an ISO 8601 date-time with a time zone, got "${value}"`);
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InvalidInputError(at, `not a real date: "${value}"`);
  return new Date(time).toISOString();
}

export function isPatientInput(ref: PatientRef): ref is PatientInput {
  return 'identifiers' in ref;
}
