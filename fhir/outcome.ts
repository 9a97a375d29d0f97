// Every FHIR error is an OperationOutcome (R4 http.html#2.21.0.1): the issue's `expression` names the element,
// so a client can point at the field. Domain errors map to HTTP statuses here, in one place.
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueType = OperationOutcomeIssue['code'];
import { isExamError, type ExamError } from '../exams/errors.ts';

export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  constructor(status: number, outcome: OperationOutcome) {
    super(outcome.issue?.[0]?.details?.text ?? `HTTP ${status}`);
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome;
  }
}

export function outcome(code: IssueType, text: string, expression?: string, severity: OperationOutcomeIssue['severity'] = 'error'): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export function fhirError(status: number, code: IssueType, text: string, expression?: string): FhirError {
  return new FhirError(status, outcome(code, text, expression));
}

const statusByCode: Record<ExamError['code'], { status: number; issue: IssueType }> = {
  invalid: { status: 422, issue: 'processing' },
  'not-found': { status: 404, issue: 'not-found' },
  duplicate: { status: 409, issue: 'duplicate' },
  'transition-refused': { status: 409, issue: 'business-rule' },
  'version-conflict': { status: 412, issue: 'conflict' },
  merged: { status: 410, issue: 'deleted' },
};

/**
 * A domain error as a FHIR error. `fieldPaths` translates the domain's field names (`procedure.code`) into
 * FHIRPath expressions of the resource the client sent (`ServiceRequest.code`).
 */
export function fromDomainError(error: unknown, fieldPaths: (field: string) => string | undefined = () => undefined): FhirError | undefined {
  if (error instanceof FhirError) return error;
  if (!isExamError(error)) return undefined;
  const { status, issue } = statusByCode[error.code];
  return new FhirError(status, outcome(issue, error.message, fieldPaths(error.field)));
}
