// Typed errors of the exam domain. Protocol layers map `code` to their own answer without parsing messages:
// HL7 ACK AE/AR with an ERR segment, a FHIR OperationOutcome with an HTTP status, a DICOM status.
// Every message names the field (or the exam/patient) and the reason, because it reaches a peer or an analyst.
export type ExamErrorCode =
  | 'invalid' // the input is malformed or incomplete (HL7 AE, FHIR 400/422)
  | 'not-found' // the exam, patient or facility does not exist (HL7 AE, FHIR 404)
  | 'duplicate' // an exam/patient with that identifier already exists (HL7 AE, FHIR 409)
  | 'transition-refused' // the lifecycle does not allow the change (HL7 AE, FHIR 409/422)
  | 'version-conflict' // the caller's expected version is not the stored one (FHIR 412)
  | 'merged'; // the patient was merged into another; use the survivor (FHIR 410-ish; HL7 AE)

export class ExamError extends Error {
  readonly code: ExamErrorCode;
  /** The input field or entity the error is about, e.g. `procedure.code` or `exam RSO-2026-000001`. */
  readonly field: string;
  constructor(code: ExamErrorCode, field: string, message: string) {
    super(message);
    this.name = 'ExamError';
    this.code = code;
    this.field = field;
  }
}

export class InvalidInputError extends ExamError {
  readonly reason: string;
  constructor(field: string, reason: string) {
    super('invalid', field, `${field}: ${reason}`);
    this.name = 'InvalidInputError';
    this.reason = reason;
  }
}

export class NotFoundError extends ExamError {
  constructor(what: 'exam' | 'patient' | 'facility' | 'report', key: string) {
    super('not-found', what, `${what} ${key} does not exist`);
    this.name = 'NotFoundError';
  }
}

export class DuplicateError extends ExamError {
  /** The exam number or patient id that already holds the identifier. */
  readonly existing: string;
  constructor(field: string, value: string, existing: string) {
    super('duplicate', field, `${field} ${value} is already used by ${existing}`);
    this.name = 'DuplicateError';
    this.existing = existing;
  }
}

export class TransitionRefusedError extends ExamError {
  readonly from: string;
  readonly to: string;
  constructor(examNumber: string, from: string, to: string, reason: string) {
    super('transition-refused', 'status', `exam ${examNumber}: status ${from} -> ${to} is not allowed: ${reason}`);
    this.name = 'TransitionRefusedError';
    this.from = from;
    this.to = to;
  }
}

/** A report change its state table (report.ts) or the exam does not allow: the reason names which. */
export class ReportRefusedError extends ExamError {
  readonly from: string;
  readonly to: string;
  constructor(reportId: string, from: string, to: string, reason: string) {
    super('transition-refused', 'status', `report ${reportId}: ${from} -> ${to} is not allowed: ${reason}`);
    this.name = 'ReportRefusedError';
    this.from = from;
    this.to = to;
  }
}

export class VersionConflictError extends ExamError {
  readonly expected: number;
  readonly actual: number;
  constructor(what: string, expected: number, actual: number) {
    super('version-conflict', 'version', `${what}: expected version ${expected} but the stored version is ${actual}`);
    this.name = 'VersionConflictError';
    this.expected = expected;
    this.actual = actual;
  }
}

export class MergedPatientError extends ExamError {
  readonly mergedInto: string;
  constructor(patientId: string, mergedInto: string) {
    super('merged', 'patient', `patient ${patientId} was merged into patient ${mergedInto}`);
    this.name = 'MergedPatientError';
    this.mergedInto = mergedInto;
  }
}

export function isExamError(error: unknown): error is ExamError {
  return error instanceof ExamError;
}
