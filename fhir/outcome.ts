// Every FHIR error is an OperationOutcome (R4 http.html#2.21.0.1), rendered here once by the router's error
// middleware from the hub's one HTTP error type (http/http-error.ts): each issue's `expression` names the element,
// so a client can point at the field. Domain errors map to HTTP statuses here, in one place.
import type { Context, Middleware } from 'koa';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { generalText, HttpError, knownHttpError, logUnexposed } from '../http/http-error.ts';
import type { Logger } from '../runtime/log.ts';
import { isExamError, type ExamError } from '../exams/errors.ts';

export type IssueType = OperationOutcomeIssue['code'];
const fhirJson = 'application/fhir+json; charset=utf-8';

export function outcome(
  code: IssueType,
  text: string,
  expression?: string,
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** An HttpError whose issue is `code` at the FHIRPath `expression`. */
export function fhirError(status: number, code: IssueType, text: string, expression?: string): HttpError {
  return new HttpError(status, text, expression === undefined ? { code } : { code, path: expression });
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
 * A domain error as an HttpError. `fieldPaths` translates the domain's field names (`procedure.code`) into
 * FHIRPath expressions of the resource the client sent (`ServiceRequest.code`).
 */
export function fromDomainError(
  error: unknown,
  fieldPaths: (field: string) => string | undefined = () => undefined,
): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (!isExamError(error)) return undefined;
  const { status, issue } = statusByCode[error.code];
  const path = fieldPaths(error.field);
  return new HttpError(status, error.message, { code: issue, cause: error, ...(path === undefined ? {} : { path }) });
}

/** The issue type a status implies when the error names none (R4 valueset-issue-type). */
function issueTypeOf(status: number): IssueType {
  const byStatus: Record<number, IssueType> = {
    400: 'invalid',
    401: 'login',
    403: 'forbidden',
    404: 'not-found',
    405: 'not-supported',
    409: 'conflict',
    410: 'deleted',
    412: 'conflict',
    413: 'too-costly',
    415: 'not-supported',
    422: 'processing',
    429: 'throttled',
  };
  return byStatus[status] ?? (status < 500 ? 'invalid' : 'exception');
}

export function outcomeOf(error: HttpError): OperationOutcome {
  if (!error.expose) return outcome('exception', generalText);
  const issue = error.issues.map((item): OperationOutcomeIssue => {
    const rendered: OperationOutcomeIssue = {
      severity: item.severity ?? 'error',
      code: (item.code as IssueType | undefined) ?? issueTypeOf(error.status),
      details: { text: item.text },
    };
    if (item.path !== undefined) rendered.expression = [item.path];
    return rendered;
  });
  return { resourceType: 'OperationOutcome', issue };
}

/** The FHIR API's error middleware: whatever a route throws becomes an OperationOutcome with its status. */
export function outcomeResponses(log: Logger): Middleware {
  return async (ctx: Context, next) => {
    try {
      await next();
    } catch (error) {
      const known = knownHttpError(error) ?? fromDomainError(error);
      const status = known?.status ?? 500;
      if (!known?.expose) logUnexposed(log, ctx, status, error);
      for (const [name, value] of Object.entries(known?.headers ?? {})) ctx.set(name, value);
      ctx.status = status;
      ctx.body = JSON.stringify(known ? outcomeOf(known) : outcome('exception', generalText));
      ctx.type = fhirJson;
    }
  };
}
