// The one error type of the hub's HTTP APIs, koa's `ctx.throw(400, 'name required')` / `err.expose` idea: a
// route throws what went wrong with its status, and one middleware per API style renders it (http/problem.ts: RFC
// 9457 JSON for /api and /dicomweb; fhir/outcome.ts: an OperationOutcome for /fhir/R4). No route writes an error
// body itself. `expose` says whether the message may be shown to the caller; an unexposed error answers a generic
// text and is logged by the renderer.
import { STATUS_CODES } from 'node:http';
import { BusyError } from '../runtime/busy.ts';
import { errorText, type Logger } from '../runtime/log.ts';
import { ValidationError } from '../runtime/validate.ts';

export interface HttpIssue {
  /** What is wrong, for a person. */
  text: string;
  /** Where: a JSON path (`destinations[0].name`), a FHIRPath (`ServiceRequest.subject`) or a parameter. */
  path?: string;
  /** What kind of problem, in the FHIR issue-type vocabulary (R4 valueset-issue-type: `not-found`, `invalid`). */
  code?: string;
  severity?: 'fatal' | 'error' | 'warning' | 'information';
}

export interface HttpErrorOptions {
  /** Default: true below 500 (the caller's mistake, worth telling), false from 500 (the hub's, logged instead). */
  expose?: boolean;
  code?: string;
  path?: string;
  /** Response headers, e.g. WWW-Authenticate on a 401 (RFC 6750 3). */
  headers?: Readonly<Record<string, string>>;
  /** Several problems at once (a FHIR validation); the first is the message when given. */
  issues?: readonly HttpIssue[];
  cause?: unknown;
}

export class HttpError extends Error {
  readonly status: number;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  /** At least one: the message, with its path and code. */
  readonly issues: readonly HttpIssue[];

  constructor(status: number, message: string, options: HttpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers ?? {};
    const first: HttpIssue = { text: message };
    if (options.path !== undefined) first.path = options.path;
    if (options.code !== undefined) first.code = options.code;
    this.issues = options.issues !== undefined && options.issues.length > 0 ? options.issues : [first];
  }

  get path(): string | undefined {
    return this.issues[0]?.path;
  }

  get code(): string | undefined {
    return this.issues[0]?.code;
  }
}

export function httpError(status: number, message: string, options?: HttpErrorOptions): HttpError {
  return new HttpError(status, message, options);
}

/**
 * Errors every API answers alike: an HttpError, a ValidationError (runtime/validate.ts) as 400 at its path, and
 * a BusyError (runtime/busy.ts) as 503 with Retry-After, shown to the caller: it is theirs to retry.
 */
export function knownHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof BusyError) {
    return new HttpError(503, error.message, {
      expose: true,
      code: 'throttled',
      headers: { 'Retry-After': String(error.retryAfterSeconds) },
      cause: error,
    });
  }
  if (error instanceof ValidationError) {
    return new HttpError(400, error.message, { path: error.path, code: 'invalid', cause: error });
  }
  return undefined;
}

/** What an unexposed error answers: the status's own words, never the error's message. */
export const generalText = 'the hub could not complete the request; see its log';

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/**
 * Logs an error the caller is not told about, once. The message may name patient data (an error built from a
 * value), so it goes to debug only; the levels above get its class, code and stack frames, which do not.
 */
export function logUnexposed(
  log: Logger,
  request: { method: string; path: string },
  status: number,
  error: unknown,
): void {
  const name = error instanceof Error ? error.name : typeof error;
  const fields = { method: request.method, path: request.path, status, error: name };
  const code = (error as { code?: unknown } | null)?.code;
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const frames = stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, 8)
    .join('\n');
  log.error('http request failed', {
    ...fields,
    ...(typeof code === 'string' ? { code } : {}),
    ...(frames ? { stack: frames } : {}),
  });
  log.debug('http request failed', fields, { message: errorText(error) });
}
